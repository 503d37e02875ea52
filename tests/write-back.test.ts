import type { Item, ItemCreateParams } from "@1password/sdk";
import { exposedCredentials } from "../plan/secrecy";
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
