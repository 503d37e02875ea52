import type { ResolveAllResponse } from "@1password/sdk";
import * as path from "path";
import { type Recording } from "../plan/record/harness";
import { exposedCredentials } from "../plan/report/secrecy";
import type { ProgramDeps } from "../program";
import { recordFixture, recordWith, stacks } from "./support";

/** A fake 1Password: answers from a table, records every batch, can refuse or be unreachable. */
function fakeOnePassword(vault: Record<string, string>, behaviour: "ok" | "unreachable" = "ok") {
  const calls = { clients: 0, batches: [] as string[][], tokens: [] as string[] };
  const deps: ProgramDeps = {
    env: { OP_SERVICE_ACCOUNT_TOKEN: "ops_fake_deploy_token" },
    createOnePasswordClient: async (token) => {
      calls.clients += 1;
      calls.tokens.push(token);
      if (behaviour === "unreachable") throw new Error("request timeout");
      return {
        secrets: {
          resolveAll: async (refs: string[]): Promise<ResolveAllResponse> => {
            calls.batches.push(refs);
            return {
              individualResponses: Object.fromEntries(
                refs.map((ref) => {
                  if (ref in vault) return [ref, { content: { secret: vault[ref]!, itemId: "i", vaultId: "v" } }];
                  const [vaultName] = ref.slice("op://".length).split("/");
                  return [ref, { error: { type: vaultName === "Nope" ? "vaultNotFound" : "itemNotFound" } }];
                }),
              ),
            };
          },
        },
      };
    },
  };
  return { deps, calls };
}

const plaintext = {
  deployKey: "-----BEGIN OPENSSH PRIVATE KEY----- fake-deploy-key-9f8e7d",
  esoToken: "ops_fake_external_secrets_token_1a2b3c",
  cloudflare: "cf_fake_account_token_4d5e6f",
};
const vaultFor = (stack: string) => ({
  "op://Prod/k8s-gitops-deploy-key/private-key": plaintext.deployKey,
  [`op://Prod/${stack}-external-secrets/credential`]: plaintext.esoToken,
  "op://Prod/cloudflare/api-token": plaintext.cloudflare,
});

describe.each(stacks)("secrets end to end, stack %s", (stack) => {
  let r: Recording;
  let calls: ReturnType<typeof fakeOnePassword>["calls"];
  beforeAll(async () => {
    const fake = fakeOnePassword(vaultFor(stack));
    calls = fake.calls;
    r = await recordFixture({ stack, deps: fake.deps });
    if (r.error) throw r.error;
  });

  it("resolves every op:// reference of the run in one batch with one client", () => {
    expect(calls.clients).toBe(1);
    expect(calls.batches).toHaveLength(1);
    expect([...calls.batches[0]!].sort()).toEqual(Object.keys(vaultFor(stack)).sort());
  });

  it("keeps every credential-carrying input and output secret (the walk finds nothing)", () => {
    expect(exposedCredentials(r)).toEqual([]);
  });

  it("never shows a plaintext credential in recorded inputs, invokes, outputs or logs", () => {
    const everything = JSON.stringify({ resources: r.resources, invokes: r.invokes, outputs: r.outputs, logs: r.logs });
    for (const value of [...Object.values(plaintext), "ops_fake_deploy_token"]) expect(everything).not.toContain(value);
    // ...while the values really reached the Secrets, unmasked only through plainInputs.
    const git = r.resources.find((x) => x.name === "flux-git-credentials")!;
    expect(r.plainInputs(git.urn)).toMatchObject({ stringData: { identity: plaintext.deployKey } });
  });
});

describe("the secrecy walk can fail", () => {
  it("reports a credential passed in the clear", async () => {
    const r = await recordFixture({ stack: "infra", entry: path.join(__dirname, "fixtures", "leaky-program") });
    expect(r.error).toBeUndefined();
    expect(exposedCredentials(r)).toEqual([
      "urn:pulumi:infra::talos-gitops::kubernetes:core/v1:Secret::leaky: stringData.token",
      "outputs: apiToken",
    ]);
  });
});

describe("credential failures end the run before anything is registered", () => {
  const expectFailure = async (recording: Promise<Recording>, ...fragments: string[]) => {
    const r = await recording;
    expect(r.resources).toEqual([]);
    for (const f of fragments) expect(r.error?.message).toContain(f);
    for (const value of Object.values(plaintext)) expect(r.error?.message).not.toContain(value);
  };

  it("a missing token names the key and the reference", async () => {
    const { deps } = fakeOnePassword(vaultFor("infra"));
    await expectFailure(
      recordFixture({ stack: "infra", deps: { ...deps, env: {} } }),
      "Pulumi.infra.yaml: cluster.flux.auth.privateKey: op://Prod/k8s-gitops-deploy-key/private-key needs 1Password, but neither OP_SERVICE_ACCOUNT_TOKEN nor the secure config value onePasswordToken is set",
    );
  });

  it("a malformed reference is refused by validation, naming the key", async () => {
    const { deps, calls } = fakeOnePassword(vaultFor("infra"));
    await expectFailure(
      recordWith("infra", (c) => (c.flux.auth.privateKey = "op://Prod/only-item"), { deps }),
      // A shape error: located at its line in the stack file.
      "Pulumi.infra.yaml:99: cluster.flux.auth.privateKey: must be an op://vault/item/field reference",
    );
    expect(calls.clients).toBe(0);
  });

  it("an unknown vault, item or field names the key and the reference", async () => {
    const { deps } = fakeOnePassword(vaultFor("infra"));
    await expectFailure(
      recordWith(
        "infra",
        (c) => {
          c.flux.auth.privateKey = "op://Nope/k8s-gitops-deploy-key/private-key";
          c.cloudflare.apiToken = "op://Prod/missing/api-token";
        },
        { deps },
      ),
      "Pulumi.infra.yaml: cluster.flux.auth.privateKey: op://Nope/k8s-gitops-deploy-key/private-key: no such vault",
      "Pulumi.infra.yaml: cluster.cloudflare.apiToken: op://Prod/missing/api-token: no such item in that vault",
    );
  });

  it("an unreachable 1Password names the key and the references", async () => {
    const { deps } = fakeOnePassword(vaultFor("infra"), "unreachable");
    await expectFailure(
      recordFixture({ stack: "infra", deps }),
      "cluster.externalSecrets.serviceAccountToken: 1Password could not be reached or refused the token (request timeout)",
      "op://Prod/k8s-gitops-deploy-key/private-key",
    );
  });

  it("the write-back alone needs the token too, and says so", async () => {
    const { deps } = fakeOnePassword({});
    const r = await recordWith(
      "infra",
      (c) => {
        c.flux.auth.privateKey = "config:fluxDeployKey";
        delete c.externalSecrets;
        delete c.cloudflare;
      },
      { deps: { ...deps, env: {} }, config: { fluxDeployKey: { secret: "k" } } },
    );
    expect(r.resources).toEqual([]);
    expect(r.error?.message).toContain(
      "Pulumi.infra.yaml: cluster.onePassword.writeBack: the write-back to vault Prod needs 1Password, but neither OP_SERVICE_ACCOUNT_TOKEN nor the secure config value onePasswordToken is set",
    );
  });

  it("does not resolve the token of a disabled component", async () => {
    const { deps, calls } = fakeOnePassword(vaultFor("infra"));
    const r = await recordWith("infra", (c) => (c.externalSecrets.enabled = false), { deps });
    expect(r.error).toBeUndefined();
    expect(calls.batches[0]).not.toContain("op://Prod/infra-external-secrets/credential");
  });

  it("needs no token and creates no 1Password client when nothing uses 1Password", async () => {
    const { deps, calls } = fakeOnePassword({});
    const r = await recordWith(
      "infra",
      (c) => {
        c.flux.auth.privateKey = "config:fluxDeployKey";
        c.externalSecrets.serviceAccountToken = "config:esoToken";
        c.cloudflare.apiToken = "config:cloudflareToken";
        c.onePassword.writeBack.enabled = false;
      },
      {
        deps: { ...deps, env: {} },
        config: { fluxDeployKey: { secret: "k" }, esoToken: { secret: "t" }, cloudflareToken: { secret: "c" } },
      },
    );
    expect(r.error).toBeUndefined();
    expect(calls.clients).toBe(0);
    expect(exposedCredentials(r)).toEqual([]);
  });
});
