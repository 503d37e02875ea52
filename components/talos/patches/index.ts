/** Talos machine-config patches: the one entry point callers import (`components/talos/patches`). */
export { configContract, talosContracts, usesNetworkDocuments, type TalosContract } from "./contract";
export { effectiveSettings, type EffectiveSettings, type Nic } from "./effective";
export { mergeDocuments, mergePatches } from "./merge";
export { nodePatches } from "./nodePatches";
export { installerImage, renderPatches, schematicYaml } from "./render";
export { isTypedDoc, type ConfigDocument, type NamedPatch, type PatchDoc, type TypedDoc } from "./types";
export { hostDns } from "./v1alpha1";
