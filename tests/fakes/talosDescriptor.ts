import type { MethodDefinition, ServiceDefinition, UntypedHandleCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import * as fs from "fs";
import * as path from "path";
import { Enum, MapField, Namespace, Root, Service, Type, util, type IConversionOptions, type INamespace } from "protobufjs";
import type { TalosApiDescriptor } from "../../contracts/extractTalosApi";

/**
 * The Talos machine API as upstream defines it at each supported minor, from the descriptors vendored under
 * contracts/talos-api/ (extracted from siderolabs/talos `api/machine/machine.proto`, `api/machine/image.proto`,
 * `api/machine/lifecycle.proto`, `api/cluster/cluster.proto`, `api/common/common.proto` and
 * `api/vendor/google/rpc/status.proto` at the pinned tags). A fake Talos server is built from these, not from
 * our client's own schema, so a method, field or enum value a minor lacks cannot be served by its fake.
 */

export type TalosMinor = "1.11" | "1.12" | "1.13";
export const talosMinors: readonly TalosMinor[] = ["1.11", "1.12", "1.13"];

/** A decoded message as plain object, shaped like the client's (components/talos/machineApi/schema.ts). */
export type Plain = Record<string, unknown>;

const contractsDir = path.join(__dirname, "..", "..", "contracts", "talos-api");

/** The one vendored descriptor of a minor: `talos-api.v<minor>.<patch>.json` (the pinned patch). */
export function descriptorFile(minor: TalosMinor): string {
  const pattern = new RegExp(`^talos-api\\.v${minor.replace(".", "\\.")}\\.\\d+\\.json$`);
  const files = fs.readdirSync(contractsDir).filter((f) => pattern.test(f));
  if (files.length !== 1)
    throw new Error(`expected one descriptor for Talos ${minor} in ${contractsDir}, found ${files.join(", ") || "none"}`);
  return path.join(contractsDir, files[0] as string);
}

/** The vendored descriptor as stored: upstream field names (snake_case). */
export function readDescriptor(minor: TalosMinor): TalosApiDescriptor {
  return JSON.parse(fs.readFileSync(descriptorFile(minor), "utf8")) as TalosApiDescriptor;
}

/** Upstream field names, as stored; resolved. For comparing with `.proto` texts parsed with `keepCase: true`. */
export function upstreamRoot(minor: TalosMinor): Root {
  const root = Root.fromJSON({ nested: readDescriptor(minor).nested });
  root.resolveAll();
  return root;
}

type JsonObject = { [key: string]: unknown };
const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * Field and oneof names camel-cased with the function protobufjs's parser applies when `keepCase` is false
 * (protobufjs src/parse.js `applyCase`), which is how schema.ts parses: the fake's plain objects then have
 * the keys our client reads and writes (`queryLocal`, `imageRef`).
 */
function camelCased(namespace: JsonObject): JsonObject {
  const out: JsonObject = { ...namespace };
  if (isObject(namespace.fields))
    out.fields = Object.fromEntries(Object.entries(namespace.fields).map(([name, field]) => [util.camelCase(name), field]));
  if (isObject(namespace.oneofs))
    out.oneofs = Object.fromEntries(
      Object.entries(namespace.oneofs).map(([name, oneof]) => [
        util.camelCase(name),
        isObject(oneof) && Array.isArray(oneof.oneof) ? { ...oneof, oneof: oneof.oneof.map((m) => util.camelCase(String(m))) } : oneof,
      ]),
    );
  if (isObject(namespace.nested))
    out.nested = Object.fromEntries(
      Object.entries(namespace.nested).map(([name, child]) => [name, isObject(child) ? camelCased(child) : child]),
    );
  return out;
}

/** The plain-object conversion of schema.ts (`toObjectOptions`): longs as decimal strings, enums by name, defaults, arrays, oneofs. */
const toObjectOptions: IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, oneofs: true };

/**
 * Refuses what a real server could not send: a key that is not a field (or oneof) of the message at this
 * minor, or an enum name the minor does not define. protobufjs's `fromObject` would drop the first silently
 * and turn the second into 0.
 */
function checkPlain(type: Type, value: unknown, where: string): void {
  if (!isObject(value)) throw new Error(`${where}: expected an object for ${type.fullName}`);
  for (const [key, child] of Object.entries(value)) {
    if (type.oneofs?.[key] && typeof child === "string") continue; // the virtual oneof member name toObject adds
    const field = type.fields[key];
    if (!field) throw new Error(`${where}: ${type.fullName.slice(1)} has no field ${key}`);
    if (child === null || child === undefined) continue;
    const resolved = field.resolve().resolvedType;
    const values = field instanceof MapField ? Object.values(child as JsonObject) : field.repeated ? (child as unknown[]) : [child];
    for (const item of values) {
      if (resolved instanceof Type) checkPlain(resolved, item, `${where}.${key}`);
      else if (resolved instanceof Enum && typeof item === "string" && !(item in resolved.values))
        throw new Error(`${where}.${key}: ${resolved.fullName.slice(1)} has no value ${item}`);
    }
  }
}

function codec(type: Type, where: string): { serialize: (value: Plain) => Buffer; deserialize: (bytes: Buffer) => Plain } {
  return {
    serialize: (value) => {
      checkPlain(type, value, where);
      return Buffer.from(type.encode(type.fromObject(value)).finish());
    },
    deserialize: (bytes) => type.toObject(type.decode(bytes), toObjectOptions),
  };
}

export interface TalosApi {
  readonly minor: TalosMinor;
  readonly tag: string;
  /** Camel-cased, resolved: the fake's view. */
  readonly root: Root;
  /** Full names of the services this minor defines, e.g. `machine.MachineService`. */
  services(): string[];
  hasMethod(fullMethod: string): boolean;
  /** grpc-js definition of `package.Service/Method`; throws when this minor has no such method. */
  method(fullMethod: string): MethodDefinition<Plain, Plain>;
  /**
   * A service ready for `server.addService(definition, implementation)`: every method the minor defines, with
   * the handlers given. A method without a handler answers UNIMPLEMENTED (grpc-js's default handler), as a
   * Talos build answers a method it does not serve; a service the minor lacks is simply not added, and
   * machined's grpc-go server answers an unknown service with codes.Unimplemented (grpc/grpc-go `server.go`
   * handleStream, "unknown service %v"), which grpc-js does too for an unregistered path.
   * Throws for a handler of a method this minor does not define: a fake must not serve it.
   */
  service(
    name: string,
    handlers: Record<string, UntypedHandleCall>,
  ): { definition: ServiceDefinition; implementation: UntypedServiceImplementation };
}

export function loadTalosApi(minor: TalosMinor): TalosApi {
  const descriptor = readDescriptor(minor);
  const root = Root.fromJSON(camelCased({ nested: descriptor.nested }) as INamespace);
  root.resolveAll();
  const where = (what: string) => `Talos ${descriptor.provenance.tag} ${what}`;

  const serviceOf = (name: string): Service | undefined => {
    const found = root.lookup(`.${name}`);
    return found instanceof Service ? found : undefined;
  };

  /** Own properties only: `methods` is a plain object, so `methods["toString"]` would otherwise be found. */
  const methodOf = (fullMethod: string) => {
    const [serviceName = "", methodName = ""] = fullMethod.split("/");
    const service = serviceOf(serviceName);
    return service && Object.hasOwn(service.methods, methodName) ? service.methods[methodName] : undefined;
  };

  function method(fullMethod: string): MethodDefinition<Plain, Plain> {
    const methodName = fullMethod.split("/")[1] ?? "";
    const definition = methodOf(fullMethod);
    if (!definition) throw new Error(`${where(fullMethod)}: no such method`);
    definition.resolve();
    const request = codec(definition.resolvedRequestType as Type, where(`${fullMethod} request`));
    const response = codec(definition.resolvedResponseType as Type, where(`${fullMethod} response`));
    return {
      path: `/${fullMethod}`,
      originalName: methodName,
      requestStream: definition.requestStream === true,
      responseStream: definition.responseStream === true,
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
    };
  }

  return {
    minor,
    tag: descriptor.provenance.tag,
    root,
    services: () => {
      const names: string[] = [];
      const walk = (namespace: Namespace): void => {
        for (const child of namespace.nestedArray) {
          if (child instanceof Service) names.push(child.fullName.slice(1));
          else if (child instanceof Namespace && !(child instanceof Type)) walk(child);
        }
      };
      walk(root);
      return names;
    },
    hasMethod: (fullMethod) => methodOf(fullMethod) !== undefined,
    method,
    service: (name, handlers) => {
      const service = serviceOf(name);
      if (!service) throw new Error(`${where(name)}: no such service`);
      for (const handled of Object.keys(handlers))
        if (!methodOf(`${name}/${handled}`)) throw new Error(`${where(`${name}/${handled}`)}: no such method, a fake must not serve it`);
      const definition: ServiceDefinition = Object.fromEntries(Object.keys(service.methods).map((m) => [m, method(`${name}/${m}`)]));
      return { definition, implementation: handlers };
    },
  };
}
