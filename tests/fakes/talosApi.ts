import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type MethodDefinition,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedHandleCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { randomUUID } from "crypto";
import { loadSchema, methods, type MethodName, type Schema } from "../../components/talos/machineApi/schema";
import type { TestPki } from "./pki";

/**
 * A Talos apid stand-in: a real grpc-js server on 127.0.0.1 with mutual TLS, answering the calls the
 * client makes with the real wire format, and scriptable to reboot, come back on another version, or
 * never come back. It records every call in arrival order.
 */

export interface FakeService {
  id: string;
  state: string;
  healthy: boolean;
  message?: string;
}

export interface FakeEtcdMember {
  id: string;
  hostname: string;
  isLearner?: boolean;
}

export interface FakeNodeState {
  hostname: string;
  version: string;
  bootId: string;
  services: FakeService[];
  /** Control planes only: this node's member id, the errors its status reports, and the cluster's member list. */
  etcd?: { memberId: string; errors: string[]; members: FakeEtcdMember[] };
  /** Calls whose reply carries a metadata error (as apid reports a failure on the proxied node). */
  metadataErrors: Partial<Record<MethodName, string>>;
  /** While true every call fails with UNAVAILABLE (apid up, machined not). */
  unavailable: boolean;
  /** Unary replies are held back this long (a node too busy to answer within the deadline). */
  stallMs: number;
}

export interface RecordedCall {
  method: MethodName;
  request: Record<string, unknown>;
  /** The `node` metadata the call carried, if any (apid proxying). */
  node?: string;
}

/** What a Reboot (or Upgrade, or Reset) request sets in motion. */
export interface RebootScript {
  /** The node keeps answering on its old boot this long (drain, stop services)... */
  answerOldBootMs?: number;
  /** ...or for this many more calls: independent of machine load, for tests that count polls. */
  answerOldBootCalls?: number;
  /** Then it is down (connections refused) this long. */
  downMs: number;
  /** State changes of the new boot (a new boot id is always drawn). */
  comeBackAs?: Partial<FakeNodeState>;
  /** The node never comes back. */
  never?: boolean;
}

export function healthyServices(role: "controlplane" | "worker"): FakeService[] {
  const ids =
    role === "controlplane"
      ? ["apid", "containerd", "cri", "etcd", "kubelet", "machined", "trustd"]
      : ["apid", "containerd", "cri", "kubelet", "machined"];
  return ids.map((id) => ({ id, state: "Running", healthy: true }));
}

/** A healthy control plane `cp1` of a three-member etcd cluster. */
export function controlPlaneState(version: string): FakeNodeState {
  return {
    hostname: "cp1",
    version,
    bootId: randomUUID(),
    services: healthyServices("controlplane"),
    etcd: {
      memberId: "11806905567389581231",
      errors: [],
      members: [
        { id: "11806905567389581231", hostname: "cp1" },
        { id: "4211352893648726347", hostname: "cp2" },
        { id: "16141391453225318400", hostname: "cp3" },
      ],
    },
    metadataErrors: {},
    unavailable: false,
    stallMs: 0,
  };
}

export function workerState(version: string): FakeNodeState {
  return {
    hostname: "w1",
    version,
    bootId: randomUUID(),
    services: healthyServices("worker"),
    metadataErrors: {},
    unavailable: false,
    stallMs: 0,
  };
}

function tagOf(image: string): string {
  return image.slice(image.lastIndexOf(":") + 1);
}

function minorAtLeast(version: string, major: number, minor: number): boolean {
  const match = /^v(\d+)\.(\d+)\./.exec(version);
  return match !== null && (Number(match[1]) > major || (Number(match[1]) === major && Number(match[2]) >= minor));
}

type Reply = Record<string, unknown>;
interface Failure {
  code: number;
  details: string;
}

export class FakeTalosApi {
  readonly calls: RecordedCall[] = [];
  /** What the next Reboot/Upgrade/Reset request does. */
  rebootScript: RebootScript = { answerOldBootMs: 200, downMs: 500 };
  private server: Server | undefined;
  private readonly schema: Schema = loadSchema();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Installed by LifecycleService/Upgrade, booted by the next reboot. */
  private stagedVersion: string | undefined;
  /** A count-scripted reboot in progress: the old boot answers this many more calls. */
  private oldBoot: { callsLeft: number; script: RebootScript } | undefined;

  private constructor(
    public state: FakeNodeState,
    private readonly pki: TestPki,
    private readonly serverCert: { cert: string; key: string },
    public port: number,
  ) {}

  static async start(options: { pki: TestPki; state: FakeNodeState; serverCert?: { cert: string; key: string } }): Promise<FakeTalosApi> {
    const fake = new FakeTalosApi(options.state, options.pki, options.serverCert ?? options.pki.server, 0);
    await fake.up();
    return fake;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  /** Stops answering: the port refuses connections, as a node mid-reboot does. */
  down(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  /** Listens again on the same port (the first time: a random one), with any state changes applied. */
  async up(changes: Partial<FakeNodeState> = {}): Promise<void> {
    this.state = { ...this.state, ...changes };
    const server = new Server();
    for (const [service, definition] of this.serviceDefinitions()) server.addService(definition, this.handlersFor(service));
    const credentials = ServerCredentials.createSsl(
      Buffer.from(this.pki.ca.cert),
      [{ cert_chain: Buffer.from(this.serverCert.cert), private_key: Buffer.from(this.serverCert.key) }],
      true,
    );
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, credentials, (error, port) => (error ? reject(error) : resolve(port))),
    );
    this.server = server;
  }

  /** Runs a reboot as scripted: old boot for a while, down, then a new boot (unless it never comes back). */
  reboot(script: RebootScript = this.rebootScript): void {
    if (script.answerOldBootCalls !== undefined) this.oldBoot = { callsLeft: script.answerOldBootCalls, script };
    else this.later(script.answerOldBootMs ?? 0, () => this.goDown(script));
  }

  private goDown(script: RebootScript): void {
    this.down();
    if (script.never) return;
    this.later(script.downMs, () => {
      const staged = this.stagedVersion ? { version: this.stagedVersion } : {};
      this.stagedVersion = undefined;
      void this.up({ ...staged, ...script.comeBackAs, bootId: randomUUID() });
    });
  }

  /** Recorded method names, in arrival order. */
  methodsCalled(): MethodName[] {
    return this.calls.map((c) => c.method);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }

  private serviceDefinitions(): Map<string, ServiceDefinition> {
    const services = new Map<string, ServiceDefinition>();
    for (const name of Object.keys(methods) as MethodName[]) {
      const method = this.schema[name];
      const [service, rpc] = methods[name].split("/");
      const definition: MethodDefinition<Reply, Reply> = {
        path: method.path,
        requestStream: false,
        responseStream: method.responseStream,
        requestSerialize: method.encodeRequest,
        requestDeserialize: method.decodeRequest,
        responseSerialize: method.encodeResponse,
        responseDeserialize: method.decodeResponse,
        originalName: rpc,
      };
      services.set(service, { ...(services.get(service) ?? {}), [rpc]: definition });
    }
    return services;
  }

  private handlersFor(service: string): Record<string, UntypedHandleCall> {
    const handlers: Record<string, UntypedHandleCall> = {};
    for (const name of Object.keys(methods) as MethodName[]) {
      const [owner, rpc] = methods[name].split("/");
      if (owner !== service) continue;
      handlers[rpc] = this.schema[name].responseStream
        ? (call: ServerWritableStream<Reply, Reply>) => this.serveStream(name, call)
        : (call: ServerUnaryCall<Reply, Reply>, callback: sendUnaryData<Reply>) => this.serveUnary(name, call, callback);
    }
    return handlers;
  }

  private record(method: MethodName, request: Reply, metadata: Metadata): void {
    const node = metadata.get("node")[0];
    this.calls.push({ method, request, ...(node === undefined ? {} : { node: String(node) }) });
    if (this.oldBoot && --this.oldBoot.callsLeft <= 0) {
      const { script } = this.oldBoot;
      this.oldBoot = undefined;
      // Down right after this call is answered.
      this.later(20, () => this.goDown(script));
    }
  }

  private metadata(method: MethodName): Reply {
    return { hostname: this.state.hostname, error: this.state.metadataErrors[method] ?? "" };
  }

  private serveUnary(method: MethodName, call: ServerUnaryCall<Reply, Reply>, callback: sendUnaryData<Reply>): void {
    this.record(method, call.request, call.metadata);
    if (this.state.unavailable) return callback({ code: status.UNAVAILABLE, details: "machined is not running" });
    const outcome = this.unary(method, call.request);
    const respond = () =>
      "code" in outcome
        ? callback({ code: outcome.code as number, details: String(outcome.details) })
        : callback(null, { messages: [{ metadata: this.metadata(method), ...outcome }] });
    if (this.state.stallMs > 0) this.later(this.state.stallMs, respond);
    else respond();
  }

  private unary(method: MethodName, request: Reply): Reply | Failure {
    const { state } = this;
    switch (method) {
      case "Version":
        return { version: { tag: state.version, sha: "abcdef0", arch: "amd64", os: "Talos" }, platform: { name: "metal", mode: "metal" } };
      case "ServiceList":
        return {
          services: state.services.map((s) => ({
            id: s.id,
            state: s.state,
            health: { healthy: s.healthy, unknown: false, lastMessage: s.message ?? "" },
            events: { events: [{ msg: "Health check successful", state: s.state }] },
          })),
        };
      case "EtcdStatus":
        if (!state.etcd) return { code: status.FAILED_PRECONDITION, details: "etcd is not running on this node" };
        return {
          memberStatus: {
            memberId: state.etcd.memberId,
            errors: state.etcd.errors,
            protocolVersion: "3.6.0",
            leader: state.etcd.members[0]?.id ?? "0",
          },
        };
      case "EtcdMemberList":
        if (!state.etcd) return { code: status.FAILED_PRECONDITION, details: "etcd is not running on this node" };
        return {
          members: state.etcd.members.map((m) => ({ id: m.id, hostname: m.hostname, isLearner: m.isLearner ?? false, peerUrls: [] })),
        };
      case "EtcdLeaveCluster":
        if (state.etcd) state.etcd = { ...state.etcd, members: state.etcd.members.filter((m) => m.id !== state.etcd?.memberId) };
        return {};
      case "EtcdRemoveMemberByID": {
        const members = state.etcd?.members ?? [];
        if (!members.some((m) => m.id === request.memberId))
          return { code: status.NOT_FOUND, details: `member ${String(request.memberId)} not found` };
        if (state.etcd) state.etcd = { ...state.etcd, members: members.filter((m) => m.id !== request.memberId) };
        return {};
      }
      case "Reboot":
      case "Reset":
        this.reboot();
        return { actorId: randomUUID() };
      case "Upgrade":
        this.stagedVersion = tagOf(String(request.image));
        this.reboot();
        return { ack: "Upgrade request received", actorId: randomUUID() };
      default:
        return { code: status.UNIMPLEMENTED, details: `${method} is not unary` };
    }
  }

  private serveStream(method: MethodName, call: ServerWritableStream<Reply, Reply>): void {
    this.record(method, call.request, call.metadata);
    if (this.state.unavailable) return this.fail(call, status.UNAVAILABLE, "machined is not running");
    const newApi = minorAtLeast(this.state.version, 1, 13);
    const metadata = this.metadata(method);
    switch (method) {
      case "Read":
        if (call.request.path === "/proc/sys/kernel/random/boot_id") call.write({ metadata, bytes: Buffer.from(`${this.state.bootId}\n`) });
        else call.write({ metadata: { ...metadata, error: `open ${String(call.request.path)}: no such file or directory` } });
        break;
      case "HealthCheck":
        for (const message of [
          "discovered nodes: control plane: [10.25.11.11]",
          "waiting for etcd to be healthy: OK",
          "waiting for all k8s nodes to report ready: OK",
        ]) {
          call.write({ metadata: { hostname: this.state.hostname, error: "" }, message });
        }
        if (metadata.error) call.write({ metadata, message: "" });
        break;
      case "ImagePull":
        if (!newApi) return this.unimplemented(call, method);
        call.write({ pullProgress: { layerId: "sha256:0001", progress: { status: "DOWNLOAD_COMPLETE" } } });
        call.write({ name: String(call.request.imageRef) });
        break;
      case "LifecycleUpgrade": {
        if (!newApi) return this.unimplemented(call, method);
        const image = String((call.request.source as Reply | undefined)?.imageName ?? "");
        this.stagedVersion = tagOf(image);
        call.write({ progress: { message: `installing ${image}` } });
        call.write({ progress: { exitCode: 0 } });
        break;
      }
      default:
        return this.unimplemented(call, method);
    }
    call.end();
  }

  private unimplemented(call: ServerWritableStream<Reply, Reply>, method: MethodName): void {
    this.fail(call, status.UNIMPLEMENTED, `unknown method ${methods[method]}`);
  }

  /** grpc-js ends a server stream with the status of the error it emits. */
  private fail(call: ServerWritableStream<Reply, Reply>, code: number, details: string): void {
    call.emit("error", { code, details });
  }
}
