import type { PolicyResourceOptions, ResourceValidationPolicy } from "@pulumi/policy";
import { parse } from "yaml";
import { factsSchema, podSecurityLevels, type FactsConfig, type PodSecurityLevel } from "./facts";
import { get, type Props } from "./values";

/** Lifecycle and host rules: what is kept on delete, what pods a namespace admits, how the nodes boot. */

const helmRelease = "kubernetes:helm.sh/v3:Release";
const configGroup = "kubernetes:yaml/v2:ConfigGroup";

/**
 * Resource options as the offline plan passes them: `retainOnDelete` included. CrossGuard's analyzer
 * does not send it (pulumi/pulumi proto/pulumi/analyzer.proto `AnalyzerResourceOptions` has no such
 * field; @pulumi/policy 1.21 `PolicyResourceOptions` neither), so under `pulumi preview` the flag
 * reads as undefined and only the Helm-level keep policy is checked.
 */
export type OptionsWithRetain = PolicyResourceOptions & { retainOnDelete?: boolean };

export const crdCarriersRetained: ResourceValidationPolicy = {
  name: "crd-carriers-retained",
  description:
    "Every Helm release or ConfigGroup that installs CRDs is retainOnDelete, and cert-manager keeps its CRDs on helm uninstall (crds.keep): deleting a CRD deletes every custom resource of it.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateResource: (args, report) => {
    if (args.type !== helmRelease && args.type !== configGroup) return;
    const { facts } = args.getConfig<FactsConfig>();
    const name = String(args.type === helmRelease ? (args.props.name ?? args.name) : args.name);
    const values = (args.props.values ?? {}) as Props;
    const installsCrds = get(values, "installCRDs") === true || get(values, "crds.enabled") === true;
    if (!facts.crdCarriers.includes(name) && !installsCrds) return;
    if ((args.opts as OptionsWithRetain).retainOnDelete === false)
      report(
        `${name} installs CRDs but is not retainOnDelete: removing it from the program would delete its CRDs and every custom resource of them`,
      );
    // cert-manager v1.21.1 templates/crd-*.yaml: `helm.sh/resource-policy: keep` only with crds.keep.
    if (get(values, "crds.enabled") === true && get(values, "crds.keep") !== true)
      report(`${name} installs its CRDs with crds.enabled but not crds.keep: helm uninstall would delete them`);
  },
};

export const namespacePodSecurity: ResourceValidationPolicy = {
  name: "namespace-pod-security",
  description:
    "Every Namespace the program creates enforces the Pod Security level its workloads need, no weaker (privileged only where pods need the host) and no stricter (it would refuse them).",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateResource: (args, report) => {
    if (args.type !== "kubernetes:core/v1:Namespace") return;
    const { facts } = args.getConfig<FactsConfig>();
    const name = String(get(args.props, "metadata.name") ?? args.name);
    const needed: PodSecurityLevel = facts.podSecurity[name] ?? "restricted";
    const labels = (get(args.props, "metadata.labels") ?? {}) as Props;
    const level = labels["pod-security.kubernetes.io/enforce"];
    if (level === undefined) {
      report(`namespace ${name} has no pod-security.kubernetes.io/enforce label (it would admit privileged pods); it needs ${needed}`);
      return;
    }
    const rank = podSecurityLevels.indexOf(level as PodSecurityLevel);
    if (rank < 0) report(`namespace ${name} enforces unknown Pod Security level ${String(level)}; it needs ${needed}`);
    else if (rank < podSecurityLevels.indexOf(needed))
      report(`namespace ${name} enforces ${String(level)}, weaker than the ${needed} its workloads need`);
    else if (rank > podSecurityLevels.indexOf(needed))
      report(`namespace ${name} enforces ${String(level)}, stricter than the ${needed} its workloads need: their pods would be refused`);
  },
};

/**
 * Kernel arguments that switch host hardening off: Talos' defaults (siderolabs/talos v1.13.9
 * pkg/machinery/kernel/kernel.go `DefaultArgs`: init_on_alloc=1, slab_nomerge, pti=on, selinux=1)
 * removed with `-<name>` or overridden, and the usual switches for mitigations and security modules.
 */
const weakening: ReadonlyArray<readonly [RegExp, string]> = [
  [/^mitigations=off$/, "turns off CPU vulnerability mitigations"],
  [/^security=none$/, "loads no Linux security module"],
  [/^apparmor=0$/, "turns off AppArmor"],
  [/^(selinux=0|-selinux)$/, "turns off SELinux (Talos enables it)"],
  [/^(init_on_alloc=0|-init_on_alloc)$/, "stops zeroing memory on allocation (a Talos default)"],
  [/^(pti=off|-pti|nopti)$/, "turns off page-table isolation (a Talos default)"],
  [/^-slab_nomerge$/, "lets slab caches merge again (a Talos default keeps them apart)"],
];

export const kernelArgsKeepHardening: ResourceValidationPolicy = {
  name: "talos-kernel-hardening",
  description:
    "Image Factory schematics do not weaken host security through kernel arguments (mitigations=off, security=none, apparmor=0, removing Talos' hardening defaults), unless the cluster accepts one with a reason in the policy config.",
  enforcementLevel: "advisory",
  configSchema: factsSchema,
  validateResource: (args, report) => {
    if (args.type !== "talos:imageFactory/schematic:Schematic" || typeof args.props.schematic !== "string") return;
    const { facts } = args.getConfig<FactsConfig>();
    let kernelArgs: unknown;
    try {
      kernelArgs = get(parse(args.props.schematic) as unknown, "customization.extraKernelArgs");
    } catch {
      return;
    }
    for (const arg of Array.isArray(kernelArgs) ? kernelArgs : []) {
      const text = String(arg).trim();
      const hit = weakening.find(([pattern]) => pattern.test(text));
      if (hit && !Object.hasOwn(facts.acceptedKernelArgs, text)) report(`kernel argument ${text} ${hit[1]}`);
    }
  },
};

export const platformPolicies = [crdCarriersRetained, namespacePodSecurity, kernelArgsKeepHardening];
