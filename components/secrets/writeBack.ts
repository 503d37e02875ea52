import * as pulumi from "@pulumi/pulumi";
import { thinEntry } from "../dynamic/thinProvider";
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
 * What create and update return, which the engine keeps as the resource's outputs and hands `diff`
 * as `olds` on the next run: where the item is, and a SHA-256 of each field value (computed here,
 * inside the provider, so state never holds a credential).
 */
export interface WriteBackOutputs {
  vault: string;
  title: string;
  fieldHashes: Record<string, string>;
}

/** Pure: the offline plan calls it (as `outputsOf`) to know the outputs without contacting 1Password. */
function writeBackOutputs(inputs: WriteBackInputs): WriteBackOutputs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash } = require("crypto") as typeof import("crypto");
  const fieldHashes: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs.fields)) fieldHashes[name] = createHash("sha256").update(value).digest("hex");
  return { vault: inputs.vault, title: inputs.title, fieldHashes };
}

/**
 * Runs inside the engine's dynamic-provider process, which shares nothing with the program but
 * these inputs: it signs in to 1Password itself with the (secret) token it is given. The resource's
 * provider is a thin entry that loads this export when the engine calls it (components/dynamic/thinProvider.ts).
 */
export const writeBackProvider = {
  outputsOf: writeBackOutputs,
  async create(inputs: WriteBackInputs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require("@1password/sdk") as typeof import("@1password/sdk");
    const client = await sdk.createClient({
      auth: inputs.token,
      integrationName: integration.name,
      integrationVersion: integration.version,
    });
    const id = await upsertItem(client, inputs.vault, inputs.title, inputs.fields);
    return { id, outs: writeBackOutputs(inputs) };
  },
  async update(_id: string, _olds: WriteBackOutputs, news: WriteBackInputs) {
    const created = await writeBackProvider.create(news);
    return { outs: created.outs };
  },
  /**
   * `olds` are the outputs create/update returned (the engine passes outputs, not inputs): compared
   * by hash, a converged stack shows no change. The token is not compared: a rotated token must not
   * rewrite the item. Outputs of an older provider carry no hashes, so the first run after this
   * change rewrites the item once.
   */
  async diff(_id: string, olds: Partial<WriteBackOutputs>, news: WriteBackInputs) {
    const next = writeBackOutputs(news);
    const hashes = olds.fieldHashes ?? {};
    const sameFields =
      Object.keys(hashes).length === Object.keys(next.fieldHashes).length &&
      Object.entries(next.fieldHashes).every(([name, hash]) => hashes[name] === hash);
    const changed = olds.vault !== next.vault || olds.title !== next.title || !sameFields;
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
      thinEntry(__filename, "writeBackProvider").provider,
      name,
      {
        ...thinEntry(__filename, "writeBackProvider").inputs,
        token: pulumi.secret(args.token),
        vault: args.vault,
        title: args.title,
        fields: pulumi.secret(args.fields),
      },
      opts,
    );
  }
}
