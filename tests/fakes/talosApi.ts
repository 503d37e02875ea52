import {
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedHandleCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { randomUUID } from "crypto";
import { systemClock, type Clock } from "../../components/talos/machineApi/clock";
import { methods, type MethodName } from "../../components/talos/machineApi/schema";
import type { TestPki } from "./pki";
import { loadTalosApi, talosMinors, type TalosApi, type TalosMinor } from "./talosDescriptor";

/**
 * A Talos apid stand-in: a real grpc-js server on 127.0.0.1 with mutual TLS, answering the calls the
 * client makes with the real wire format, and scriptable to reboot, come back on another version, or
 * never come back. It records every call in arrival order. Upstream files cited below are
 * siderolabs/talos at v1.13.9 (same behaviour at v1.12.11 unless said otherwise).
 */

/**
 * Who may call what: machined's `rules` (internal/app/machined/pkg/system/services/machined.go), for
 * the methods we serve. Roles come from the client certificate's Organization
 * (pkg/grpc/middleware/authz/injector.go, extractRoles); a caller without one of them gets
 * PERMISSION_DENIED `not authorized` (pkg/grpc/middleware/authz/authorizer.go, ErrNotAuthorized).
 */
const allowedRoles: { readonly [K in MethodName]: readonly string[] } = {
  Version: ["os:admin", "os:operator", "os:reader"],
  ServiceList: ["os:admin", "os:operator", "os:reader"],
  EtcdMemberList: ["os:admin", "os:operator", "os:reader", "os:etcd:backup"],
  EtcdStatus: ["os:admin", "os:operator", "os:reader", "os:etcd:backup"],
  HealthCheck: ["os:admin", "os:operator", "os:reader"],
  Read: ["os:admin"],
  Reboot: ["os:admin", "os:operator"],
  ImagePull: ["os:admin", "os:operator"],
  Reset: ["os:admin"],
  Upgrade: ["os:admin"],
  LifecycleUpgrade: ["os:admin"],
  EtcdLeaveCluster: ["os:admin"],
  EtcdRemoveMemberByID: ["os:admin"],
  EtcdForfeitLeadership: ["os:admin"],
};

export interface FakeService {
  id: string;
  state: string;
  healthy: boolean;
  message?: string;
}

export interface FakeEtcdMember {
  id: string;
  /** Empty while the member has not started: etcd lists it without a name (internal/pkg/etcd/etcd.go, ValidateForUpgrade). */
  hostname: string;
  isLearner?: boolean;
  /** The etcd leader; when no member has it, the first member leads. */
  isLeader?: boolean;
}

/** A gRPC status as a handler returns it. */
export interface FakeFailure {
  code: number;
  details: string;
}

export interface FakeNodeState {
  hostname: string;
  version: string;
  bootId: string;
  services: FakeService[];
  /**
   * Control planes only: this node's member id, the errors its status reports, and the cluster's
   * member list. Fakes of one cluster may share the same `members` array: leave, remove and forfeit
   * change it in place, so every control plane sees the change, as etcd's members do.
   */
  etcd?: { memberId: string; errors: string[]; members: FakeEtcdMember[] };
  /**
   * Calls that fail, as the handler's error reaches the client: a gRPC status when the call is
   * answered one-to-one (no `nodes` metadata: grpc-proxy v0.5.1 proxy/handler_one2one.go passes the
   * backend's status through), or in the reply's `metadata.error`/`metadata.status` when apid
   * aggregated it for `nodes` (internal/app/apid/pkg/backend/apid.go, BuildError).
   */
  failures: Partial<Record<MethodName, FakeFailure>>;
  /**
   * While true every call fails with UNAVAILABLE: apid is up but cannot reach machined over its
   * socket (grpc-proxy proxy/handler_one2one.go returns the backend connection's error as is).
   */
  unavailable: boolean;
  /** Unary replies are held back this long, in real time (a node too busy to answer within the deadline). */
  stallMs: number;
}

/** How the fake's cluster health check goes (ClusterService/HealthCheck). */
export interface FakeHealth {
  /** This many streams end unhealthy at their wait timeout before one passes. */
  unhealthyStreams: number;
  /** The check still waiting when the wait timeout passes. */
  waitingOn: string;
}

export interface RecordedCall {
  method: MethodName;
  request: Record<string, unknown>;
  /** The `node` metadata the call carried, if any (apid proxying). */
  node?: string;
  /** Milliseconds left until the call's deadline when it arrived (Infinity without one). */
  deadlineMs: number;
  /** The roles of the client certificate it came with. */
  roles: string[];
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
    failures: {},
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
    failures: {},
    unavailable: false,
    stallMs: 0,
  };
}

function tagOf(image: string): string {
  return image.slice(image.lastIndexOf(":") + 1);
}

const apis = new Map<TalosMinor, TalosApi>();

/**
 * The vendored API of the minor a node runs; a version outside them (the refusal tests' v1.10 and
 * v1.14 nodes) is served by the nearest one, whose messages are the ones our client uses either way.
 */
function talosApiOf(version: string): TalosApi {
  const match = /^v?1\.(\d+)\./.exec(version);
  const minorNumber = match ? Number(match[1]) : 13;
  const minor = talosMinors.find((m) => m === `1.${minorNumber}`) ?? (minorNumber < 11 ? "1.11" : "1.13");
  let api = apis.get(minor);
  if (!api) apis.set(minor, (api = loadTalosApi(minor)));
  return api;
}

type Reply = Record<string, unknown>;
type Failure = FakeFailure;

function onlyControlPlanes(api: string): Failure {
  return { code: status.UNIMPLEMENTED, details: `${api} is only available on control plane nodes` };
}

function leaderOf(members: readonly FakeEtcdMember[]): FakeEtcdMember | undefined {
  return members.find((m) => m.isLeader) ?? members[0];
}

/** In place, so every fake sharing the list sees it; whether it was there. */
function removeMember(members: FakeEtcdMember[], id: string): boolean {
  const index = members.findIndex((m) => m.id === id);
  if (index < 0) return false;
  members.splice(index, 1);
  return true;
}

export class FakeTalosApi {
  readonly calls: RecordedCall[] = [];
  /** What the next Reboot/Upgrade/Reset request does. */
  rebootScript: RebootScript = { answerOldBootMs: 200, downMs: 500 };
  /**
   * How long pulling the installer image takes, on the injected clock. Talos pulls and validates it
   * under the request's context before it answers Upgrade (v1alpha1_server.go, Upgrade:
   * PullAndValidateInstallerImage(ctx, ...); v1.12.11 the same), and ImageService/Pull streams until the
   * pull is done: a client deadline shorter than the pull cancels the context, the call ends
   * DEADLINE_EXCEEDED and nothing is upgraded.
   */
  imagePullMs = 0;
  /** Calls after whose arrival the connection drops before the reply is written; the call still takes effect. */
  readonly dropConnectionAfter = new Set<MethodName>();
  health: FakeHealth = { unhealthyStreams: 0, waitingOn: "all k8s nodes to report ready: node w1 is not ready" };
  private server: Server | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Between a reboot request and the new boot. */
  private rebootPending = false;
  /** Installed by LifecycleService/Upgrade, booted by the next reboot. */
  private stagedVersion: string | undefined;
  /** A count-scripted reboot in progress: the old boot answers this many more calls. */
  private oldBoot: { callsLeft: number; script: RebootScript } | undefined;

  private constructor(
    public state: FakeNodeState,
    private readonly pki: TestPki,
    private readonly serverCert: { cert: string; key: string },
    public port: number,
    private readonly clock: Clock,
  ) {}

  static async start(options: {
    pki: TestPki;
    state: FakeNodeState;
    serverCert?: { cert: string; key: string };
    /** The clock long server-side waits (image pull, health wait) pass on; share the flow's virtual clock. */
    clock?: Clock;
  }): Promise<FakeTalosApi> {
    const fake = new FakeTalosApi(options.state, options.pki, options.serverCert ?? options.pki.server, 0, options.clock ?? systemClock);
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
    // The services and messages of the Talos minor the node runs, from upstream's .proto files
    // (contracts/talos-api, tests/fakes/talosDescriptor.ts): what that build does not serve answers UNIMPLEMENTED.
    const api = talosApiOf(this.state.version);
    for (const service of api.services()) {
      const { definition, implementation } = api.service(service, this.handlersFor(service, api));
      server.addService(definition, implementation);
    }
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
    this.rebootPending = true;
    if (script.answerOldBootCalls !== undefined) this.oldBoot = { callsLeft: script.answerOldBootCalls, script };
    else this.later(script.answerOldBootMs ?? 0, () => this.goDown(script));
  }

  private goDown(script: RebootScript): void {
    this.down();
    if (script.never) return;
    this.later(script.downMs, () => {
      const staged = this.stagedVersion ? { version: this.stagedVersion } : {};
      this.stagedVersion = undefined;
      this.rebootPending = false;
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

  private handlersFor(service: string, api: TalosApi): Record<string, UntypedHandleCall> {
    const handlers: Record<string, UntypedHandleCall> = {};
    for (const name of Object.keys(methods) as MethodName[]) {
      const [owner, rpc] = methods[name].split("/");
      if (owner !== service || !api.hasMethod(methods[name])) continue;
      handlers[rpc] = api.method(methods[name]).responseStream
        ? (call: ServerWritableStream<Reply, Reply>) => this.serveStream(name, call)
        : (call: ServerUnaryCall<Reply, Reply>, callback: sendUnaryData<Reply>) => this.serveUnary(name, call, callback);
    }
    return handlers;
  }

  private record(method: MethodName, call: ServerUnaryCall<Reply, Reply> | ServerWritableStream<Reply, Reply>): void {
    const node = call.metadata.get("node")[0];
    this.calls.push({
      method,
      request: call.request,
      ...(node === undefined ? {} : { node: String(node) }),
      deadlineMs: this.remainingMs(call),
      roles: this.rolesOf(call),
    });
    if (this.oldBoot && --this.oldBoot.callsLeft <= 0) {
      const { script } = this.oldBoot;
      this.oldBoot = undefined;
      // Down right after this call is answered.
      this.later(20, () => this.goDown(script));
    }
  }

  private metadata(): Reply {
    return { hostname: this.state.hostname };
  }

  /** The roles in the client certificate's Organization, as apid reads them (authz/injector.go, extractRoles). */
  private rolesOf(call: ServerUnaryCall<Reply, Reply> | ServerWritableStream<Reply, Reply>): string[] {
    const organization = call.getAuthContext().sslPeerCertificate?.subject?.O;
    return organization === undefined ? [] : Array.isArray(organization) ? organization : [organization];
  }

  /** Refusals that come before the handler: the authorizer, then apid without machined. */
  private refusal(method: MethodName, call: ServerUnaryCall<Reply, Reply> | ServerWritableStream<Reply, Reply>): Failure | undefined {
    if (!this.rolesOf(call).some((role) => allowedRoles[method].includes(role)))
      return { code: status.PERMISSION_DENIED, details: "not authorized" };
    if (this.state.unavailable)
      return {
        code: status.UNAVAILABLE,
        details:
          'connection error: desc = "transport: Error while dialing: dial unix /system/run/machined/machine.sock: connect: connection refused"',
      };
    return this.state.failures[method];
  }

  /** apid aggregating for `nodes` reports a node's failure inside the reply (backend/apid.go, BuildError). */
  private aggregated(call: ServerUnaryCall<Reply, Reply> | ServerWritableStream<Reply, Reply>): boolean {
    return call.metadata.get("nodes").length > 0;
  }

  private proxiedError(failure: Failure): Reply {
    return {
      metadata: { hostname: this.state.hostname, error: failure.details, status: { code: failure.code, message: failure.details } },
    };
  }

  /** Milliseconds left before the call's deadline (grpc-js sets it from the client's grpc-timeout header). */
  private remainingMs(call: ServerUnaryCall<Reply, Reply> | ServerWritableStream<Reply, Reply>): number {
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    return Number.isFinite(at) ? at - Date.now() : Infinity;
  }

  /**
   * Drops every connection now: the reply is never written. A node the call set rebooting stays
   * down until its reboot script brings it back; any other listens again at once (only the connection broke).
   */
  private dropConnection(): void {
    const server = this.server;
    this.server = undefined;
    server?.forceShutdown();
    if (!this.rebootPending) void this.up();
  }

  private serveUnary(method: MethodName, call: ServerUnaryCall<Reply, Reply>, callback: sendUnaryData<Reply>): void {
    this.record(method, call);
    const refused = this.refusal(method, call);
    if (refused) {
      if (this.aggregated(call)) return callback(null, { messages: [this.proxiedError(refused)] });
      return callback(refused);
    }
    void this.unary(method, call).then((outcome) => {
      if (this.dropConnectionAfter.has(method)) {
        // Proxied (`node` metadata): apid's connection to the target broke, and the one-to-one proxy
        // returns that backend error as the call's status (grpc-proxy v0.5.1 proxy/handler_one2one.go:
        // `return c2sErr`): UNAVAILABLE from grpc-go's client transport. Direct: our own connection drops.
        if (call.metadata.get("node").length > 0) return callback({ code: status.UNAVAILABLE, details: "error reading from server: EOF" });
        return this.dropConnection();
      }
      const respond = () =>
        "code" in outcome
          ? this.aggregated(call)
            ? callback(null, { messages: [this.proxiedError(outcome as Failure)] })
            : callback({ code: outcome.code as number, details: String(outcome.details) })
          : callback(null, { messages: [{ metadata: this.metadata(), ...outcome }] });
      if (this.state.stallMs > 0) this.later(this.state.stallMs, respond);
      else respond();
    });
  }

  /**
   * The image pull before Upgrade answers, or before ImageService/Pull ends: passes on the injected
   * clock; when the client's deadline comes first, the pull's context is cancelled (DEADLINE_EXCEEDED).
   */
  private async pull(call: ServerUnaryCall<Reply, Reply> | ServerWritableStream<Reply, Reply>): Promise<Failure | undefined> {
    if (this.imagePullMs <= 0) return undefined;
    const remaining = this.remainingMs(call);
    await this.clock.sleep(Math.min(this.imagePullMs, remaining));
    if (this.imagePullMs > remaining) return { code: status.DEADLINE_EXCEEDED, details: "context deadline exceeded" };
    return undefined;
  }

  private async unary(method: MethodName, call: ServerUnaryCall<Reply, Reply>): Promise<Reply | Failure> {
    const request = call.request;
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
      // Workers: machinehelper.CheckControlplane answers UNIMPLEMENTED (internal/app/internal/machinehelper/machinehelper.go).
      case "EtcdStatus":
        if (!state.etcd) return onlyControlPlanes("etcd status");
        return {
          memberStatus: {
            memberId: state.etcd.memberId,
            errors: state.etcd.errors,
            protocolVersion: "3.6.0",
            leader: leaderOf(state.etcd.members)?.id ?? "0",
            isLearner: state.etcd.members.find((m) => m.id === state.etcd?.memberId)?.isLearner ?? false,
          },
        };
      case "EtcdMemberList":
        if (!state.etcd) return onlyControlPlanes("member list");
        return {
          members: state.etcd.members.map((m) => ({ id: m.id, hostname: m.hostname, isLearner: m.isLearner ?? false, peerUrls: [] })),
        };
      case "EtcdLeaveCluster": {
        if (!state.etcd) return onlyControlPlanes("etcd leave");
        // Removes its own member (already gone counts as done: internal/pkg/etcd/etcd.go, LeaveCluster).
        removeMember(state.etcd.members, state.etcd.memberId);
        return {};
      }
      case "EtcdRemoveMemberByID": {
        if (!state.etcd) return onlyControlPlanes("etcd remove member");
        // v1alpha1_server.go: NotFound with the etcd client's error, `failed to remove member <decimal id>: etcdserver: member not found`.
        if (!removeMember(state.etcd.members, String(request.memberId)))
          return { code: status.NOT_FOUND, details: `failed to remove member ${String(request.memberId)}: etcdserver: member not found` };
        return {};
      }
      case "EtcdForfeitLeadership": {
        if (!state.etcd) return onlyControlPlanes("etcd forfeit leadership");
        // internal/pkg/etcd/etcd.go, ForfeitLeadership: "" when this member does not lead, else MoveLeader to another member and its name.
        const { members, memberId } = state.etcd;
        if (members.length === 1)
          return { code: status.UNKNOWN, details: "failed to forfeit leadership: cannot forfeit leadership, only one member" };
        if (leaderOf(members)?.id !== memberId) return { member: "" };
        const next = members.find((m) => m.id !== memberId);
        for (const m of members) m.isLeader = m === next;
        return { member: next?.hostname ?? "" };
      }
      case "Reboot":
      case "Reset":
        this.reboot();
        return { actorId: randomUUID() };
      case "Upgrade": {
        const failed = await this.pull(call);
        if (failed) return failed;
        this.stagedVersion = tagOf(String(request.image));
        this.reboot();
        return { ack: "Upgrade request received", actorId: randomUUID() };
      }
      default:
        return { code: status.UNIMPLEMENTED, details: `${method} is not unary` };
    }
  }

  private serveStream(method: MethodName, call: ServerWritableStream<Reply, Reply>): void {
    this.record(method, call);
    void this.stream(method, call);
  }

  private async stream(method: MethodName, call: ServerWritableStream<Reply, Reply>): Promise<void> {
    const refused = this.refusal(method, call);
    if (refused) {
      if (!this.aggregated(call)) return this.fail(call, refused.code, refused.details);
      call.write(this.proxiedError(refused));
      return void call.end();
    }
    const metadata = this.metadata();
    switch (method) {
      case "Read":
        // machined's Read fails with the open error as its status (v1alpha1_server.go, Read).
        if (call.request.path !== "/proc/sys/kernel/random/boot_id")
          return this.fail(call, status.UNKNOWN, `open ${String(call.request.path)}: no such file or directory`);
        call.write({ metadata, bytes: Buffer.from(`${this.state.bootId}\n`) });
        break;
      case "HealthCheck": {
        if (!this.state.etcd) return this.fail(call, status.UNIMPLEMENTED, "cluster health check is only available on control plane nodes");
        // v1alpha1_cluster.go, HealthCheck: `discovered nodes: %q` of the node IPs first, then one line per
        // condition change, `waiting for <check>: <state>` (pkg/cluster/check/check.go, Wait).
        const info = (call.request.clusterInfo ?? {}) as Reply;
        const ips = [...((info.controlPlaneNodes as string[] | undefined) ?? []), ...((info.workerNodes as string[] | undefined) ?? [])];
        call.write({ metadata, message: `discovered nodes: [${ips.map((ip) => JSON.stringify(ip)).join(" ")}]` });
        call.write({ metadata, message: "waiting for etcd to be healthy: OK" });
        if (this.health.unhealthyStreams > 0) {
          this.health.unhealthyStreams--;
          call.write({ metadata, message: `waiting for ${this.health.waitingOn}` });
          // check.Wait returns ctx.Err() when the wait timeout passes; grpc-go turns it into
          // DEADLINE_EXCEEDED (grpc-go v1.82.1 server.go: status.FromContextError).
          const wait = (call.request.waitTimeout ?? {}) as Reply;
          await this.clock.sleep(Number(wait.seconds ?? 0) * 1000);
          return this.fail(call, status.DEADLINE_EXCEEDED, "context deadline exceeded");
        }
        call.write({ metadata, message: "waiting for all k8s nodes to report ready: OK" });
        break;
      }
      case "ImagePull": {
        const failed = await this.pull(call);
        if (failed) return this.fail(call, failed.code, failed.details);
        call.write({ pullProgress: { layerId: "sha256:0001", progress: { status: "DOWNLOAD_COMPLETE" } } });
        call.write({ name: String(call.request.imageRef) });
        break;
      }
      case "LifecycleUpgrade": {
        const image = String((call.request.source as Reply | undefined)?.imageName ?? "");
        this.stagedVersion = tagOf(image);
        call.write({ progress: { message: `installing ${image}` } });
        if (this.dropConnectionAfter.has(method)) return this.dropConnection();
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
