import type { ResolveAllResponse } from "@1password/sdk";
import type { ProgramDeps } from "../program";
import { SECRET_MASK } from "./wire";

/**
 * Services for the offline run: no network, no credentials. Every `op://` reference "resolves" to
 * the mask, so the program runs exactly as under `pulumi up` and the plan shows `[secret]`.
 */
export function offlineDeps(): ProgramDeps {
  return {
    env: { OP_SERVICE_ACCOUNT_TOKEN: "offline" },
    createOnePasswordClient: async () => ({
      secrets: {
        resolveAll: async (references: string[]): Promise<ResolveAllResponse> => ({
          individualResponses: Object.fromEntries(
            references.map((r) => [r, { content: { secret: SECRET_MASK, itemId: "offline", vaultId: "offline" } }]),
          ),
        }),
      },
    }),
  };
}
