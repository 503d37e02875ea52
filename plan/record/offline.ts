import type { ResolveAllResponse } from "@1password/sdk";
import type { ProgramDeps } from "../../program";
import { SECRET_MASK } from "./wire";

/**
 * Services for the offline run: no network, no credentials. Every `op://` reference "resolves" to
 * a placeholder naming it, so the program runs exactly as under `pulumi up`, the plan shows
 * `[secret]`, and a changed reference diffs as a changed secret (plan/record/digest.ts).
 */
export function offlineDeps(): ProgramDeps {
  return {
    env: { OP_SERVICE_ACCOUNT_TOKEN: "offline" },
    createOnePasswordClient: async () => ({
      secrets: {
        resolveAll: async (references: string[]): Promise<ResolveAllResponse> => ({
          individualResponses: Object.fromEntries(
            references.map((r) => [r, { content: { secret: `${SECRET_MASK} ${r}`, itemId: "offline", vaultId: "offline" } }]),
          ),
        }),
      },
    }),
  };
}
