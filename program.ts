import { Cluster } from "./components/cluster";
import { loadClusterConfig } from "./stacks/pulumiConfig";

/** Services the program reaches outside Pulumi; injected by tests and the offline plan. */
export type ProgramDeps = Readonly<Record<string, never>>;

/**
 * Loads and validates the stack config (throwing before any resource is registered), then
 * registers the cluster and returns the stack outputs.
 */
export async function deployStack(_deps: ProgramDeps = {}): Promise<Record<string, unknown>> {
  const config = loadClusterConfig();
  const cluster = new Cluster(config.name, { config });
  return cluster.stackOutputs();
}
