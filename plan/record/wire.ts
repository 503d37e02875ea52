/**
 * Decoding of the values the Pulumi SDK sends to the engine: secrets, unknowns, resource references.
 * The signature constants are the SDK's wire protocol (see @pulumi/pulumi runtime/rpc).
 */

export const sig = {
  key: "4dabf18193072939515e22adb298388d",
  secret: "1b47061264138c4ac30d75fd1eb44270",
  resource: "5cf8f73096256a8f31e491e813e4eb8e",
  asset: "c44067f5952c0a294b673a41bacd8c17",
  archive: "0def7320c3a5731c473e5ecbe6d01bc7",
  unknown: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
} as const;

/** How a secret shows in plans, JSON and logs. */
export const SECRET_MASK = "[secret]";
/** How a value only known after `pulumi up` shows. */
export const UNKNOWN = "(known after apply)";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Decoded {
  /** The value with secrets unwrapped: for assertions in tests, never printed by the plan. */
  readonly plain: Json;
  /** The value with every secret replaced by SECRET_MASK: what the plan shows. */
  readonly masked: Json;
  /** Dotted paths (`stringData.identity`, `spec.blocks[0].cidr`) that were secret. */
  readonly secretPaths: string[];
}

export function wrapSecret(value: Json): Json {
  return { [sig.key]: sig.secret, value };
}

export function isSecretWire(value: unknown): value is { value: Json } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[sig.key] === sig.secret;
}

export function decode(value: unknown): Decoded {
  const secretPaths: string[] = [];
  const walk = (v: unknown, path: string, insideSecret: boolean): { plain: Json; masked: Json } => {
    if (v === undefined || v === null) return { plain: null, masked: null };
    if (v === sig.unknown) return { plain: UNKNOWN, masked: UNKNOWN };
    if (typeof v !== "object") return { plain: v as Json, masked: insideSecret ? SECRET_MASK : (v as Json) };
    const record = v as Record<string, unknown>;
    const signature = record[sig.key];
    if (signature === sig.secret) {
      if (!insideSecret) secretPaths.push(path);
      const inner = walk(record.value, path, true);
      return { plain: inner.plain, masked: SECRET_MASK };
    }
    if (signature === sig.resource) {
      const urn = String(record.urn ?? "");
      return { plain: urn, masked: urn };
    }
    if (signature === sig.asset || signature === sig.archive) {
      const text = String(record.path ?? record.uri ?? "(inline asset)");
      return { plain: text, masked: insideSecret ? SECRET_MASK : text };
    }
    if (Array.isArray(v)) {
      const items = v.map((item, i) => walk(item, `${path}[${i}]`, insideSecret));
      return { plain: items.map((i) => i.plain), masked: items.map((i) => i.masked) };
    }
    const plain: Record<string, Json> = {};
    const masked: Record<string, Json> = {};
    for (const [k, item] of Object.entries(record)) {
      const r = walk(item, path === "" ? k : `${path}.${k}`, insideSecret);
      plain[k] = r.plain;
      masked[k] = r.masked;
    }
    return { plain, masked };
  };
  const { plain, masked } = walk(value, "", false);
  return { plain, masked, secretPaths };
}
