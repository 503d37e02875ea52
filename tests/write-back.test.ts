import type { Item, ItemCreateParams } from "@1password/sdk";
import { createHash } from "crypto";
import { loadProvider, type LoadedProvider } from "../plan/record/dynamicProvider";
import { exposedCredentials } from "../plan/report/secrecy";
import type { Json } from "../plan/record/wire";
import { upsertItem, type ItemsClient } from "../components/secrets/writeBack";
import { recordFixture, recordWith } from "./support";

/** An in-memory 1Password vault. */
function fakeVault() {
  const items = new Map<string, Item>();
  const client: ItemsClient = {
    vaults: { list: async () => [{ id: "v1", title: "Prod" } as never] },
    items: {
      list: async () => [...items.values()].map((i) => ({ id: i.id, title: i.title }) as never),
      get: async (_v, id) => structuredClone(items.get(id)!),
      put: async (item) => (items.set(item.id, structuredClone(item)), item),
      create: async (p: ItemCreateParams) => {
        const item = {
          id: `i${items.size + 1}`,
          title: p.title,
          category: p.category,
          vaultId: p.vaultId,
          fields: p.fields ?? [],
          sections: [],
          notes: "",
          tags: p.tags ?? [],
        } as unknown as Item;
        items.set(item.id, item);
        return item;
      },
    },
  };
  return { client, items };
}

describe("1Password write-back", () => {
  it("creates the item once, then updates it in place, keeping fields it does not own", async () => {
    const { client, items } = fakeVault();
    const id = await upsertItem(client, "Prod", "infra-talos", { talosconfig: "t1", kubeconfig: "k1" });
    items.get(id)!.fields.push({ id: "note", title: "note", fieldType: "Text", value: "keep" } as never);
    const again = await upsertItem(client, "Prod", "infra-talos", { talosconfig: "t2", kubeconfig: "k1" });
    expect(again).toBe(id);
    expect(items.size).toBe(1);
    expect(
      items
        .get(id)!
        .fields.map((f) => `${f.id}=${f.value}`)
        .sort(),
    ).toEqual(["kubeconfig=k1", "note=keep", "talosconfig=t2"]);
  });

  it("fails clearly when the vault is not visible", async () => {
    const { client } = fakeVault();
    await expect(upsertItem(client, "Nope", "x", {})).rejects.toThrow("1Password vault Nope not found");
  });

  it("registers one write-back resource whose token and contents are secrets", async () => {
    const r = await recordFixture({ stack: "infra" });
    const writeBack = r.resources.filter((x) => x.type === "pulumi-nodejs:dynamic:Resource");
    expect(writeBack.map((x) => x.name)).toEqual(["infra-credentials"]);
    expect(writeBack[0]!.inputs).toMatchObject({ vault: "Prod", title: "infra-talos", token: "[secret]", fields: "[secret]" });
    expect(exposedCredentials(r)).toEqual([]);
  });

  it("is skipped when disabled", async () => {
    const r = await recordWith("infra", (c) => (c.onePassword.writeBack.enabled = false));
    expect(r.resources.filter((x) => x.type === "pulumi-nodejs:dynamic:Resource")).toEqual([]);
  });
});

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

describe("1Password write-back provider, as the engine runs it", () => {
  // The engine deserialises the provider from the `__provider` input and calls diff(id, olds, news)
  // with olds = the outputs create/update returned, news = the new inputs (secrets unwrapped).
  let provider: LoadedProvider;
  let news: Record<string, Json>;
  beforeAll(async () => {
    const r = await recordFixture({ stack: "infra" });
    const writeBack = r.resources.find((x) => x.type === "pulumi-nodejs:dynamic:Resource")!;
    news = { ...(r.plainInputs(writeBack.urn) as Record<string, Json>), fields: { talosconfig: "t1", kubeconfig: "k1" } };
    provider = loadProvider(news.__provider as string);
  });
  const outsOf = (inputs: Record<string, Json>) => ({ ...provider.outputsOf!(inputs), __provider: inputs.__provider });

  it("returns outputs that name the item and hash each field, never the values", () => {
    const outs = provider.outputsOf!(news);
    expect(outs).toEqual({
      vault: "Prod",
      title: "infra-talos",
      fieldHashes: { talosconfig: sha256("t1"), kubeconfig: sha256("k1") },
      providerLogic: news.providerLogic,
    });
    expect(JSON.stringify(outs)).not.toMatch(/"t1"|"k1"/);
  });

  it("reports no change when the outputs of the last run match the inputs: a converged stack is `same`", async () => {
    await expect(provider.diff!("id", outsOf(news), news)).resolves.toEqual({ changes: false, replaces: [] });
  });

  it("reports a change when a field value changes, and only then", async () => {
    const changed = { ...news, fields: { talosconfig: "t2", kubeconfig: "k1" } };
    await expect(provider.diff!("id", outsOf(news), changed)).resolves.toEqual({ changes: true, replaces: [] });
    const rotatedToken = { ...news, token: "another-token" };
    await expect(provider.diff!("id", outsOf(news), rotatedToken)).resolves.toEqual({ changes: false, replaces: [] });
  });

  it("replaces on a new vault, updates on a new title", async () => {
    await expect(provider.diff!("id", outsOf(news), { ...news, vault: "Other" })).resolves.toEqual({ changes: true, replaces: ["vault"] });
    await expect(provider.diff!("id", outsOf(news), { ...news, title: "x" })).resolves.toEqual({ changes: true, replaces: [] });
  });

  it("rewrites once over the outputs of the earlier provider, which kept no hashes", async () => {
    await expect(provider.diff!("id", { vault: "Prod", title: "infra-talos", __provider: news.__provider }, news)).resolves.toEqual({
      changes: true,
      replaces: [],
    });
  });
});
