import type { ResolveAllResponse } from "@1password/sdk";

/** The part of the 1Password SDK client this program uses; tests inject fakes of it. */
export interface OnePasswordClient {
  readonly secrets: { resolveAll(references: string[]): Promise<ResolveAllResponse> };
}

/** Creates an authenticated client from a service-account token. */
export type OnePasswordClientFactory = (serviceAccountToken: string) => Promise<OnePasswordClient>;

export const integration = { name: "talos-gitops", version: "0.1.0" } as const;

/** The real client. The SDK (a 14 MB WASM core) is loaded only when a reference must be resolved. */
export const createOnePasswordClient: OnePasswordClientFactory = async (serviceAccountToken) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require("@1password/sdk") as typeof import("@1password/sdk");
  return sdk.createClient({ auth: serviceAccountToken, integrationName: integration.name, integrationVersion: integration.version });
};
