import { Enum, MapField, parse, Root, Type, type Field } from "protobufjs";
import { protoSources } from "../components/talos/machineApi/protocol";
import { methods } from "../components/talos/machineApi/schema";
import { talosKubernetes, versions } from "../stacks/versions";
import { readDescriptor, talosMinors, upstreamRoot, type TalosMinor } from "./fakes/talosDescriptor";

/**
 * Our hand-written Talos API texts (components/talos/machineApi/protocol.ts) against upstream's own definitions
 * at every supported minor: the descriptors in contracts/talos-api/, extracted by contracts/extractTalosApi.ts
 * from siderolabs/talos `api/machine/machine.proto`, `api/machine/image.proto`, `api/machine/lifecycle.proto`,
 * `api/cluster/cluster.proto`, `api/common/common.proto` and `api/vendor/google/rpc/status.proto` at v1.11.6,
 * v1.12.11 and v1.13.9. Every method schema.ts calls, and every message, field and enum value reachable from
 * its request and response, must exist identically upstream. protocol.ts may leave fields out (protobuf skips
 * unknown fields); what it keeps must match. Both sides are compared with upstream's field names
 * (protobufjs `keepCase: true`); schema.ts camel-cases the same texts, which renames nothing on the wire.
 */

const minorIndex = (minor: TalosMinor) => talosMinors.indexOf(minor);

/**
 * What protocol.ts declares that older minors lack (read from the descriptors, see protocol.ts's header): each
 * is present from `since` on and absent before, and the walk below skips it where it is absent.
 */
const introduced: ReadonlyArray<{ kind: "method" | "type" | "enum value"; name: string; since: TalosMinor }> = [
  // machine.proto: `enum Mode { DEFAULT = 0; POWERCYCLE = 1; FORCE = 2; }` in RebootRequest from v1.12.0.
  { kind: "enum value", name: "machine.RebootRequest.Mode.FORCE", since: "1.12" },
  // api/machine/lifecycle.proto and api/machine/image.proto exist from v1.13.0, with common.ContainerdInstance.
  { kind: "method", name: "machine.LifecycleService/Upgrade", since: "1.13" },
  { kind: "method", name: "machine.ImageService/Pull", since: "1.13" },
  { kind: "type", name: "common.ContainerdInstance", since: "1.13" },
];

/** machine.proto marks these `option deprecated = true` from `since` on (MachineService/Upgrade: removal announced for v1.18). */
const deprecatedFrom: ReadonlyArray<{ method: string; since: TalosMinor }> = [{ method: "machine.MachineService/Upgrade", since: "1.13" }];

function absentAt(minor: TalosMinor, name: string): boolean {
  const entry = introduced.find((d) => d.name === name);
  return entry !== undefined && minorIndex(minor) < minorIndex(entry.since);
}

function ours(sources: readonly string[] = protoSources): Root {
  const root = new Root();
  for (const source of sources) parse(source, root, { keepCase: true });
  root.resolveAll();
  return root;
}

const upstream = Object.fromEntries(talosMinors.map((m) => [m, upstreamRoot(m)])) as Record<TalosMinor, Root>;

function lookupMethod(root: Root, fullMethod: string) {
  const [service = "", method = ""] = fullMethod.split("/");
  const found = root.lookup(`.${service}`);
  return found && "methods" in found ? root.lookupService(`.${service}`).methods[method] : undefined;
}

function lookupType(root: Root, name: string): Type | Enum | undefined {
  const found = root.lookup(`.${name}`);
  return found instanceof Type || found instanceof Enum ? found : undefined;
}

function enumValue(root: Root, name: string): number | undefined {
  const cut = name.lastIndexOf(".");
  const found = lookupType(root, name.slice(0, cut));
  return found instanceof Enum ? found.values[name.slice(cut + 1)] : undefined;
}

function present(root: Root, kind: (typeof introduced)[number]["kind"], name: string): boolean {
  if (kind === "method") return lookupMethod(root, name) !== undefined;
  if (kind === "type") return lookupType(root, name) !== undefined;
  return enumValue(root, name) !== undefined;
}

const typeName = (field: Field) => (field.resolvedType ? field.resolvedType.fullName.slice(1) : field.type);
const nameOf = (t: Type | Enum) => t.fullName.slice(1);

/** Every difference between protocol.ts and upstream at `minor`, as readable lines (none when they agree). */
function differences(minor: TalosMinor, names: readonly string[], sources: readonly string[] = protoSources): string[] {
  const mine = ours(sources);
  const theirs = upstream[minor];
  const problems: string[] = [];
  const seen = new Set<string>();

  function visit(type: Type | Enum): void {
    const name = nameOf(type);
    if (seen.has(name) || absentAt(minor, name)) return;
    seen.add(name);
    const other = lookupType(theirs, name);
    if (!other || other instanceof Type !== type instanceof Type)
      return void problems.push(`${name}: not a ${type.constructor.name} upstream`);
    if (type instanceof Enum) {
      for (const [value, number] of Object.entries(type.values)) {
        if (absentAt(minor, `${name}.${value}`)) continue;
        const theirNumber = (other as Enum).values[value];
        if (theirNumber !== number) problems.push(`${name}.${value} = ${number}: upstream ${theirNumber ?? "absent"}`);
      }
      return;
    }
    for (const field of type.fieldsArray) {
      const where = `${name}.${field.name}`;
      const up = (other as Type).fields[field.name];
      if (!up) {
        problems.push(`${where}: no such field upstream`);
        continue;
      }
      const shape = (f: Field) => ({
        id: f.id,
        type: typeName(f),
        repeated: f.repeated,
        map: f instanceof MapField ? f.keyType : null,
        oneof: f.partOf?.name ?? null,
      });
      const [a, b] = [shape(field), shape(up)];
      for (const key of Object.keys(a) as Array<keyof typeof a>)
        if (a[key] !== b[key]) problems.push(`${where}: ${key} ${String(a[key])}, upstream ${String(b[key])}`);
      if (field.resolvedType instanceof Type || field.resolvedType instanceof Enum) visit(field.resolvedType);
    }
  }

  for (const fullMethod of names) {
    if (absentAt(minor, fullMethod)) continue;
    const method = lookupMethod(mine, fullMethod);
    const up = lookupMethod(theirs, fullMethod);
    if (!method) problems.push(`${fullMethod}: missing from protocol.ts`);
    if (!up) problems.push(`${fullMethod}: no such method upstream`);
    if (!method || !up) continue;
    for (const key of ["requestStream", "responseStream"] as const)
      if ((method[key] === true) !== (up[key] === true))
        problems.push(`${fullMethod}: ${key} ${method[key] === true}, upstream ${up[key] === true}`);
    const request = method.resolvedRequestType as Type;
    const response = method.resolvedResponseType as Type;
    if (nameOf(request) !== nameOf(up.resolvedRequestType as Type))
      problems.push(`${fullMethod}: request ${nameOf(request)}, upstream ${up.requestType}`);
    if (nameOf(response) !== nameOf(up.resolvedResponseType as Type))
      problems.push(`${fullMethod}: response ${nameOf(response)}, upstream ${up.responseType}`);
    visit(request);
    visit(response);
  }
  return problems;
}

const usedMethods: readonly string[] = Object.values(methods);

describe("Talos API conformance: protocol.ts against upstream's .proto files", () => {
  it.each(talosMinors)("every method, message, field number, type and enum value the client uses matches Talos %s", (minor) => {
    expect(differences(minor, usedMethods)).toEqual([]);
  });

  it("finds a changed field number, a missing field and a wrong stream flag (the check can fail)", () => {
    // The walk on a copy of protocol.ts with one field renumbered, one renamed and one stream flag dropped.
    const edited = protoSources.map((s) =>
      s
        .replace("bool query_local = 1;", "bool query_local = 7;")
        .replace("string image_ref = 3;", "string image_reference = 3;")
        .replace("returns (stream HealthCheckProgress)", "returns (HealthCheckProgress)"),
    );
    expect(differences("1.13", usedMethods, edited)).toEqual([
      "machine.EtcdMemberListRequest.query_local: id 7, upstream 1",
      "machine.ImageServicePullRequest.image_reference: no such field upstream",
      "cluster.ClusterService/HealthCheck: responseStream false, upstream true",
    ]);
  });

  it.each(introduced)("$kind $name: absent before Talos $since, present from it, and declared by protocol.ts", ({ kind, name, since }) => {
    expect(present(ours(), kind, name)).toBe(true);
    for (const minor of talosMinors)
      expect([minor, present(upstream[minor], kind, name)]).toEqual([minor, minorIndex(minor) >= minorIndex(since)]);
  });

  it.each(deprecatedFrom)("$method: deprecated upstream from Talos $since on, not before", ({ method, since }) => {
    for (const minor of talosMinors) {
      const deprecated = lookupMethod(upstream[minor], method)?.options?.deprecated === true;
      expect([minor, deprecated]).toEqual([minor, minorIndex(minor) >= minorIndex(since)]);
    }
  });

  it("has one descriptor per supported Talos minor, the 1.x pin's at its pinned tag, with its provenance", () => {
    expect([...talosMinors].sort()).toEqual(Object.keys(talosKubernetes).sort());
    for (const minor of talosMinors) {
      const { provenance } = readDescriptor(minor);
      expect(provenance.source).toBe("https://github.com/siderolabs/talos");
      expect(provenance.tag.startsWith(`v${minor}.`)).toBe(true);
      expect(provenance.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(provenance.licence).toBe("MPL-2.0");
      expect(provenance.paths).toEqual(
        expect.arrayContaining(["api/machine/machine.proto", "api/common/common.proto", "api/cluster/cluster.proto"]),
      );
    }
    const pinned = versions.talos.split(".").slice(0, 2).join(".").slice(1) as TalosMinor;
    expect(readDescriptor(pinned).provenance.tag).toBe(versions.talos);
  });
});
