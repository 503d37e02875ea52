import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./components/cluster";
import { createOnePasswordClient, type OnePasswordClientFactory } from "./components/secrets/onePassword";
import { resolveCredentials } from "./components/secrets/resolver";
import { loadMesh } from "./stacks/crossStack";
import { loadClusterConfig } from "./stacks/pulumiConfig";

/** Services the program reaches outside Pulumi; the harness and tests inject their own. */
export interface ProgramDeps {
  readonly createOnePasswordClient: OnePasswordClientFactory;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function productionDeps(): ProgramDeps {
  return { createOnePasswordClient, env: process.env };
}

/**
 * Loads and validates the stack config and resolves every credential, both before any resource is
 * registered (a failure leaves nothing half-applied), then registers the cluster.
 */
export async function deployStack(deps: ProgramDeps = productionDeps()): Promise<Record<string, unknown>> {
  const config = loadClusterConfig();
  // The mesh peers' settings come from their own stack files in the project folder.
  const mesh = loadMesh({ file: `Pulumi.${pulumi.getStack()}.yaml`, cluster: config }, pulumi.runtime.getRootDirectory());
  const credentials = await resolveCredentials(config, {
    file: `Pulumi.${pulumi.getStack()}.yaml`,
    config: new pulumi.Config(),
    env: deps.env,
    createClient: deps.createOnePasswordClient,
  });
  const cluster = new Cluster(config.name, { config, credentials, mesh });
  return cluster.stackOutputs();
}
