import { Client, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { isIPv6 } from "net";
import { systemClock, type Clock } from "./clock";
import { channelCredentials, type ClientConfiguration } from "./credentials";
import { isTalosApiError, talosApiError } from "./errors";
import * as replies from "./replies";
import { defaultBackoff, describeError, isServiceError, isTransient, withRetries, type Backoff } from "./retry";
import { loadSchema, type MethodName, type MethodSchema } from "./schema";

export const talosApiPort = 50000;

export interface MachineClientOptions {
  /** Where apid is reached: a node IP (or a host whose apid certificate carries that name). */
  endpoint: string;
  /** The node the calls are for; when it differs from `endpoint`, apid there proxies to it (gRPC metadata `node`). */
  node?: string;
  port?: number;
  clientConfiguration: ClientConfiguration;
  /** Deadline of one attempt of one call. */
  callTimeoutMs?: number;
  /** How long calls keep retrying while the node is unreachable (UNAVAILABLE / DEADLINE_EXCEEDED). */
  retryForMs?: number;
  backoff?: Backoff;
  clock?: Clock;
  /**
   * grpc-js reconnect backoff. Its default grows to 120 s, so a node back from a long reboot would go
   * unnoticed for up to two minutes; capped low here because polling a rebooting node is the point.
   */
  reconnectBackoffMs?: { initial: number; max: number };
}

export interface CallOptions {
  /** Overrides the client's `retryForMs` for this call; 0 makes a single attempt. */
  retryForMs?: number;
  /** Overrides the client's `callTimeoutMs` for this call (long streams: image pull, health check). */
  callTimeoutMs?: number;
}

export type RebootMode = "DEFAULT" | "POWERCYCLE" | "FORCE";

export interface UpgradeRequest {
  image: string;
  preserve?: boolean;
  stage?: boolean;
  force?: boolean;
  rebootMode?: "DEFAULT" | "POWERCYCLE";
}

export interface ResetRequest {
  /** Leave etcd first (and refuse when that would break quorum). */
  graceful: boolean;
  /** Reboot after wiping rather than power off. */
  reboot: boolean;
  mode?: "ALL" | "SYSTEM_DISK" | "USER_DISKS";
}

export interface HealthCheckRequest {
  waitTimeoutSeconds: number;
  controlPlaneNodes: string[];
  workerNodes: string[];
  forceEndpoint?: string;
}

export interface MachineClient {
  /** The node the calls are for (what errors name). */
  readonly node: string;
  version(options?: CallOptions): Promise<replies.VersionReply>;
  services(options?: CallOptions): Promise<replies.ServiceState[]>;
  etcdMembers(options?: CallOptions): Promise<replies.EtcdMemberInfo[]>;
  etcdStatus(options?: CallOptions): Promise<replies.EtcdStatusInfo>;
  /** The kernel's boot id (`/proc/sys/kernel/random/boot_id` via Read): changes on every boot, as talosctl checks. */
  bootId(options?: CallOptions): Promise<string>;
  reboot(mode?: RebootMode, options?: CallOptions): Promise<void>;
  /** MachineService/Upgrade: the only upgrade call before v1.13; deprecated there (removal planned for v1.18). Reboots itself. */
  upgrade(request: UpgradeRequest, options?: CallOptions): Promise<void>;
  /** v1.13+: ImageService/Pull then LifecycleService/Upgrade (installs, does not reboot: call `reboot` after). */
  lifecycleUpgrade(image: string, options?: CallOptions): Promise<void>;
  reset(request: ResetRequest, options?: CallOptions): Promise<void>;
  etcdLeaveCluster(options?: CallOptions): Promise<void>;
  etcdRemoveMemberById(memberId: string, options?: CallOptions): Promise<void>;
  /** ClusterService/HealthCheck: the server streams progress until the cluster is healthy or its wait times out. */
  healthCheck(request: HealthCheckRequest, options?: CallOptions): Promise<string[]>;
  close(): void;
}

/** Calls that change the node are retried only when refused (UNAVAILABLE): a deadline may mean it ran. */
function refusedOnly(error: unknown): boolean {
  return isServiceError(error) && error.code === status.UNAVAILABLE;
}

export function createMachineClient(options: MachineClientOptions): MachineClient {
  const schema = loadSchema();
  const node = options.node ?? options.endpoint;
  const port = options.port ?? talosApiPort;
  const host = isIPv6(options.endpoint) ? `[${options.endpoint}]` : options.endpoint;
  const reconnect = options.reconnectBackoffMs ?? { initial: 500, max: 5000 };
  const grpcClient = new Client(`${host}:${port}`, channelCredentials(options.clientConfiguration), {
    "grpc.initial_reconnect_backoff_ms": reconnect.initial,
    "grpc.max_reconnect_backoff_ms": reconnect.max,
  });
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? defaultBackoff;

  function metadata(): Metadata {
    const md = new Metadata();
    if (node !== options.endpoint) md.set("node", node);
    return md;
  }

  function unaryOnce(method: MethodSchema, request: object, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      grpcClient.makeUnaryRequest(
        method.path,
        method.encodeRequest,
        method.decodeResponse,
        request,
        metadata(),
        { deadline: new Date(Date.now() + timeoutMs) },
        (error: ServiceError | null, reply?: Record<string, unknown>) => (error || !reply ? reject(error) : resolve(reply)),
      );
    });
  }

  function streamOnce(method: MethodSchema, request: object, timeoutMs: number): Promise<Record<string, unknown>[]> {
    return new Promise((resolve, reject) => {
      const received: Record<string, unknown>[] = [];
      const stream: ClientReadableStream<Record<string, unknown>> = grpcClient.makeServerStreamRequest(
        method.path,
        method.encodeRequest,
        method.decodeResponse,
        request,
        metadata(),
        { deadline: new Date(Date.now() + timeoutMs) },
      );
      stream.on("data", (message: Record<string, unknown>) => received.push(message));
      stream.on("error", reject);
      stream.on("end", () => resolve(received));
    });
  }

  /** One call with retries; any failure (transport or node-reported) becomes a TalosApiError naming node and call. */
  async function call<T>(
    name: MethodName,
    attempt: (method: MethodSchema, timeoutMs: number) => Promise<T>,
    callOptions: CallOptions | undefined,
    retryable: (error: unknown) => boolean,
  ): Promise<T> {
    const method = schema[name];
    const timeoutMs = callOptions?.callTimeoutMs ?? callTimeoutMs;
    return withRetries(
      async () => {
        try {
          return await attempt(method, timeoutMs);
        } catch (error) {
          if (isServiceError(error) || isTalosApiError(error)) throw error;
          throw talosApiError(node, name, describeError(error));
        }
      },
      { node, call: name, totalMs: callOptions?.retryForMs ?? options.retryForMs ?? 0, backoff, clock, retryable },
    );
  }

  function read<T>(name: MethodName, request: object, pick: (message: Record<string, unknown>) => T, o?: CallOptions): Promise<T> {
    return call(name, async (m, t) => pick(replies.singleMessage(await unaryOnce(m, request, t))), o, isTransient);
  }

  function change(name: MethodName, request: object, o?: CallOptions): Promise<void> {
    return call(name, async (m, t) => void replies.singleMessage(await unaryOnce(m, request, t)), o, refusedOnly);
  }

  async function stream(name: MethodName, request: object, o: CallOptions | undefined, retryable: (e: unknown) => boolean) {
    return call(
      name,
      async (m, t) => {
        const messages = await streamOnce(m, request, t);
        const failure = replies.streamFailure(messages);
        if (failure) throw new Error(failure);
        return messages;
      },
      o,
      retryable,
    );
  }

  return {
    node,
    version: (o) => read("Version", {}, replies.versionReply, o),
    services: (o) => read("ServiceList", {}, replies.serviceStates, o),
    etcdMembers: (o) => read("EtcdMemberList", { queryLocal: false }, replies.etcdMembers, o),
    etcdStatus: (o) => read("EtcdStatus", {}, replies.etcdStatus, o),
    bootId: async (o) =>
      replies
        .dataBytes(await stream("Read", { path: "/proc/sys/kernel/random/boot_id" }, o, isTransient))
        .toString()
        .trim(),
    reboot: (mode = "DEFAULT", o) => change("Reboot", { mode }, o),
    upgrade: (r, o) =>
      change(
        "Upgrade",
        {
          image: r.image,
          preserve: r.preserve ?? false,
          stage: r.stage ?? false,
          force: r.force ?? false,
          rebootMode: r.rebootMode ?? "DEFAULT",
        },
        o,
      ),
    lifecycleUpgrade: async (image, o) => {
      const containerd = { driver: "CRI", namespace: "NS_SYSTEM" };
      await stream("ImagePull", { containerd, imageRef: image }, o, refusedOnly);
      const progress = await stream("LifecycleUpgrade", { containerd, source: { imageName: image } }, o, refusedOnly);
      const exitCode = replies.lifecycleExitCode(progress);
      if (exitCode !== 0) {
        throw talosApiError(
          node,
          "LifecycleUpgrade",
          exitCode === undefined ? "stream ended without an exit code" : `upgrade failed with exit code ${exitCode}`,
        );
      }
    },
    reset: (r, o) => change("Reset", { graceful: r.graceful, reboot: r.reboot, mode: r.mode ?? "ALL" }, o),
    etcdLeaveCluster: (o) => change("EtcdLeaveCluster", {}, o),
    etcdRemoveMemberById: (memberId, o) => change("EtcdRemoveMemberByID", { memberId }, o),
    healthCheck: async (r, o) => {
      const request = {
        waitTimeout: { seconds: r.waitTimeoutSeconds, nanos: 0 },
        clusterInfo: { controlPlaneNodes: r.controlPlaneNodes, workerNodes: r.workerNodes, forceEndpoint: r.forceEndpoint ?? "" },
      };
      // The server holds the stream open for up to its wait timeout: the deadline must outlast it.
      const callTimeoutMs = o?.callTimeoutMs ?? r.waitTimeoutSeconds * 1000 + (options.callTimeoutMs ?? 10_000);
      return replies.healthMessages(await stream("HealthCheck", request, { ...o, callTimeoutMs }, isTransient));
    },
    close: () => grpcClient.close(),
  };
}
