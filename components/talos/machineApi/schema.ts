import { parse, Root, type IConversionOptions, type Type } from "protobufjs";
import { protoSources } from "./protocol";

/** The calls this project makes, by short name; the values are `package.Service/Method`. */
export const methods = {
  Version: "machine.MachineService/Version",
  ServiceList: "machine.MachineService/ServiceList",
  EtcdMemberList: "machine.MachineService/EtcdMemberList",
  EtcdStatus: "machine.MachineService/EtcdStatus",
  EtcdLeaveCluster: "machine.MachineService/EtcdLeaveCluster",
  EtcdRemoveMemberByID: "machine.MachineService/EtcdRemoveMemberByID",
  EtcdForfeitLeadership: "machine.MachineService/EtcdForfeitLeadership",
  Read: "machine.MachineService/Read",
  Reboot: "machine.MachineService/Reboot",
  Reset: "machine.MachineService/Reset",
  Upgrade: "machine.MachineService/Upgrade",
  LifecycleUpgrade: "machine.LifecycleService/Upgrade",
  ImagePull: "machine.ImageService/Pull",
  HealthCheck: "cluster.ClusterService/HealthCheck",
} as const;
export type MethodName = keyof typeof methods;

/** A method resolved against the schema: enough for a grpc-js client call or a server handler. */
export interface MethodSchema {
  readonly name: MethodName;
  /** The HTTP/2 path, `/package.Service/Method`. */
  readonly path: string;
  readonly responseStream: boolean;
  readonly encodeRequest: (value: object) => Buffer;
  readonly decodeRequest: (bytes: Buffer) => Record<string, unknown>;
  readonly encodeResponse: (value: object) => Buffer;
  readonly decodeResponse: (bytes: Buffer) => Record<string, unknown>;
}

export type Schema = { readonly [K in MethodName]: MethodSchema };

/**
 * Plain-object conversion: 64-bit integers (etcd member ids) as decimal strings, enums by name,
 * defaults filled in so an absent proto3 field reads as its zero value rather than `undefined`.
 */
const toObjectOptions: IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, oneofs: true };

function codec(type: Type): { encode: (value: object) => Buffer; decode: (bytes: Buffer) => Record<string, unknown> } {
  return {
    // fromObject, not verify: verify rejects 64-bit ids given as decimal strings, which fromObject converts.
    encode: (value) => Buffer.from(type.encode(type.fromObject(value)).finish()),
    decode: (bytes) => type.toObject(type.decode(bytes), toObjectOptions),
  };
}

/**
 * Builds the schema from the protocol texts. Built on demand rather than at module load, so a function
 * capturing this module (a Pulumi dynamic provider) serializes the builder, not a protobufjs object graph.
 */
export function loadSchema(): Schema {
  const root = new Root();
  for (const source of protoSources) parse(source, root, { keepCase: false });
  root.resolveAll();
  const entries = (Object.keys(methods) as MethodName[]).map((name): [MethodName, MethodSchema] => {
    const [service, method] = methods[name].split("/");
    const definition = root.lookupService(service).methods[method];
    if (!definition) throw new Error(`internal: ${methods[name]} missing from the protocol texts`);
    const request = codec(root.lookupType(definition.requestType));
    const response = codec(root.lookupType(definition.responseType));
    return [
      name,
      {
        name,
        path: `/${methods[name]}`,
        responseStream: definition.responseStream === true,
        encodeRequest: request.encode,
        decodeRequest: request.decode,
        encodeResponse: response.encode,
        decodeResponse: response.decode,
      },
    ];
  });
  return Object.fromEntries(entries) as Schema;
}
