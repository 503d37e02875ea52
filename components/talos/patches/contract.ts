/**
 * The machine-config contract: the Talos minor a configuration is generated for. The same version
 * string goes to `machine.getConfigurationOutput` as `talosVersion` (talosCluster.ts), so the
 * generated base and these patches always speak the same contract.
 */

export const talosContracts = ["v1.11", "v1.12", "v1.13"] as const;
export type TalosContract = (typeof talosContracts)[number];

/** The contract of a Talos version such as `v1.12.3` (its minor). Unknown minors are refused. */
export function configContract(talosVersion: string): TalosContract {
  const match = /^v(\d+)\.(\d+)\.\d+(-[0-9A-Za-z.-]+)?$/.exec(talosVersion);
  const minor = match ? `v${match[1]}.${match[2]}` : undefined;
  const contract = talosContracts.find((c) => c === minor);
  if (!contract) {
    throw new Error(
      `Talos ${talosVersion}: no machine-config patches for this version; the patches target ${talosContracts.join(", ")} ` +
        `(add the minor to components/talos/patches and its schema to contracts/talos first)`,
    );
  }
  return contract;
}

/**
 * From 1.12 on, `.machine.network` (except KubeSpan) and `.machine.time` are deprecated in favour of
 * typed documents (release notes `hack/release.toml` at siderolabs/talos v1.12.0, "Network
 * Configuration"; `Deprecated:` markers in `pkg/machinery/config/types/v1alpha1/v1alpha1_types.go`
 * at v1.12.11 and v1.13.9), and the published schemas of those minors no longer list those fields.
 */
export function usesNetworkDocuments(contract: TalosContract): boolean {
  return contract !== "v1.11";
}
