import * as pulumi from "@pulumi/pulumi";
import { integration } from "./onePassword";
import type { Item, ItemCreateParams, ItemOverview, VaultOverview } from "@1password/sdk";

/** The part of the 1Password client the write-back uses; tests inject a fake. */
export interface ItemsClient {
  readonly vaults: { list(): Promise<VaultOverview[]> };
  readonly items: {
    list(vaultId: string): Promise<ItemOverview[]>;
    get(vaultId: string, itemId: string): Promise<Item>;
    put(item: Item): Promise<Item>;
    create(params: ItemCreateParams): Promise<Item>;
  };
}

/**
 * Creates or updates a Secure Note with one concealed field per entry: idempotent, so a re-run with
 * the same values writes the same item. Returns the item id.
 */
export async function upsertItem(client: ItemsClient, vaultTitle: string, title: string, fields: Record<string, string>): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ItemCategory, ItemFieldType } = require("@1password/sdk") as typeof import("@1password/sdk");
  const vault = (await client.vaults.list()).find((v) => v.title === vaultTitle);
  if (!vault) throw new Error(`1Password vault ${vaultTitle} not found (or the service account cannot write to it)`);
  const wanted = Object.entries(fields).map(([id, value]) => ({ id, title: id, fieldType: ItemFieldType.Concealed, value }));
  const existing = (await client.items.list(vault.id)).find((i) => i.title === title);
  if (!existing) {
    return (
      await client.items.create({ vaultId: vault.id, title, category: ItemCategory.SecureNote, fields: wanted, tags: ["talos-gitops"] })
    ).id;
  }
  const item = await client.items.get(vault.id, existing.id);
  const others = item.fields.filter((f) => !(f.id in fields));
  return (await client.items.put({ ...item, fields: [...others, ...wanted] })).id;
}

interface WriteBackInputs {
  token: string;
  vault: string;
  title: string;
  fields: Record<string, string>;
}

/**
 * Runs inside the engine's dynamic-provider process, which shares nothing with the program but
 * these inputs: it signs in to 1Password itself with the (secret) token it is given.
 */
const writeBackProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: WriteBackInputs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require("@1password/sdk") as typeof import("@1password/sdk");
    const client = await sdk.createClient({
      auth: inputs.token,
      integrationName: integration.name,
      integrationVersion: integration.version,
    });
    const id = await upsertItem(client, inputs.vault, inputs.title, inputs.fields);
    return { id, outs: { vault: inputs.vault, title: inputs.title } };
  },
  async update(_id: string, _olds: WriteBackInputs, news: WriteBackInputs) {
    const created = await writeBackProvider.create(news);
    return { outs: created.outs };
  },
  async diff(_id: string, olds: WriteBackInputs, news: WriteBackInputs) {
    const changed = olds.vault !== news.vault || olds.title !== news.title || JSON.stringify(olds.fields) !== JSON.stringify(news.fields);
    return { changes: changed, replaces: olds.vault !== news.vault ? ["vault"] : [] };
  },
  // Deleting the stack leaves the item: the credentials may be needed to recover the machines.
  async delete() {},
};

export interface WriteBackArgs {
  readonly token: pulumi.Input<string>;
  readonly vault: string;
  readonly title: string;
  readonly fields: Record<string, pulumi.Input<string>>;
}

/** talosconfig and kubeconfig saved to a 1Password item, so operators need no access to Pulumi state. */
export class OnePasswordWriteBack extends pulumi.dynamic.Resource {
  constructor(name: string, args: WriteBackArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      writeBackProvider,
      name,
      { token: pulumi.secret(args.token), vault: args.vault, title: args.title, fields: pulumi.secret(args.fields) },
      opts,
    );
  }
}
