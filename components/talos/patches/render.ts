import { stringify } from "yaml";
import type { Schematic } from "../../../stacks/schema";
import type { NamedPatch } from "./types";

/**
 * The patches as the provider takes them: one string per patch. A patch of several documents is one
 * YAML stream with `---` between them; Talos' patcher loads a patch with the config loader, which
 * reads every document of a stream, and strategic-merges documents by (apiVersion, kind, name),
 * appending those the base lacks (pkg/machinery/config/configpatcher/{load,strategic}.go, identical
 * at siderolabs/talos v1.12.11 and v1.13.0 — the machinery of terraform-provider-talos v0.11.0, which
 * the Pulumiverse provider 0.8.1 wraps; testdata/multidoc/strategic2.yaml is such a patch).
 */
export function renderPatches(patches: readonly NamedPatch[]): string[] {
  // YAML 1.1 output quotes strings a 1.1 reader would take for booleans (`auto: "off"`).
  return patches.map((p) => p.documents.map((doc) => stringify(doc, { lineWidth: 0, version: "1.1" })).join("---\n"));
}

/** The Image Factory schematic document (its content hash is the schematic id). */
export function schematicYaml(schematic: Schematic): string {
  return stringify(
    {
      customization: { extraKernelArgs: schematic.extraKernelArgs, systemExtensions: { officialExtensions: schematic.officialExtensions } },
    },
    { lineWidth: 0 },
  );
}

export function installerImage(schematicId: string, talosVersion: string): string {
  return `factory.talos.dev/metal-installer/${schematicId}:${talosVersion}`;
}
