import { Client, connectivityState, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { isIPv6 } from "net";
import { systemClock, type Clock } from "./clock";
import { channelCredentials, type ClientConfiguration } from "./credentials";
import { isTalosApiError, talosApiError, type TalosApiError } from "./errors";
import * as replies from "./replies";
import { defaultBackoff, delayFor, describeError, isServiceError, isTransient, seconds, withRetries, type Backoff } from "./retry";
import { callRoles, type CallRole } from "./roles";
import { loadSchema, type MethodName, type MethodSchema } from "./schema";

export const talosApiPort = 50000;

export interface MachineClientOptions {
  /** Where apid is reached: a node IP (or a host whose apid certificate carries that name). */
  endpoint: string;
  /** The node the calls are for; when it differs from `endpoint`, apid there proxies to it (gRPC metadata `node`). */
  node?: string;
  port?: number;
  /**
   * The os:admin client configuration (the machine secrets'): used only for the calls roles.ts gives
   * admin. Absent for callers that only read (ClusterReady): such a client cannot change a node.
   */
  clientConfiguration?: ClientConfiguration;
  /**
   * An os:reader certificate of the same CA, for every call os:reader may make (roles.ts). Absent
   * (state written before it existed): those calls use the admin certificate.
   */
  readerConfiguration?: ClientConfiguration;
  /** Deadline of one attempt of one call (calls with their own default below excepted). */
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
  /** The server's wait for one stream; it ends the stream with DEADLINE_EXCEEDED when it passes. */
  waitTimeoutSeconds: number;
  controlPlaneNodes: string[];
  workerNodes: string[];
  forceEndpoint?: string;
  /** Ask this endpoint again while it reports "not healthy yet", until this many ms have passed (default: one wait). */
  untilMs?: number;
  /** Each progress line of the stream, as it arrives (`waiting for etcd to be healthy: OK`). */
  onProgress?: (line: string) => void;
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
  /** Hands etcd leadership to another member when this node holds it; the new leader's name, or "" when it did not lead. */
  etcdForfeitLeadership(options?: CallOptions): Promise<string>;
  /**
   * ClusterService/HealthCheck: the server streams progress until the cluster is healthy or its wait
   * passes. A stream the server ends with DEADLINE_EXCEEDED means "not healthy yet": asked again on
   * this endpoint until `untilMs`, then a failure without a transport code (no fail-over for it).
   */
  healthCheck(request: HealthCheckRequest, options?: CallOptions): Promise<string[]>;
  close(): void;
}

/**
 * Deadlines of calls that outlast the default. None is upstream's own number: talosctl sends Upgrade,
 * EtcdLeaveCluster and EtcdForfeitLeadership with no deadline at all (cmd/talosctl/pkg/talos/global/client.go:
 * context.Background()), so these bound what the server does before it answers:
 * - Upgrade, ImageService/Pull, LifecycleService/Upgrade: the installer image is pulled (and validated)
 *   under the request's context before the reply (v1alpha1_server.go, Upgrade: PullAndValidateInstallerImage(ctx, ...)),
 *   so a deadline shorter than the pull cancels it; callers pass their upgrade timeout, this is the floor.
 * - EtcdLeaveCluster: the server retries the member removal for up to 5 minutes, then stops etcd
 *   (internal/pkg/etcd/etcd.go v1.13.9, LeaveCluster: retry.Constant(5*time.Minute, ...)).
 */
export const callDeadlinesMs: Partial<Record<MethodName, number>> = {
  Upgrade: 30 * 60_000,
  ImagePull: 30 * 60_000,
  LifecycleUpgrade: 30 * 60_000,
  EtcdLeaveCluster: 6 * 60_000,
  EtcdForfeitLeadership: 60_000,
};

/**
 * Transport failures after which a sent request may have run: grpc-js reports a connection that drops
 * after the request was written as UNAVAILABLE `Connection dropped` (@grpc/grpc-js 1.14.7
 * src/subchannel-call.ts: onDisconnect, and NGHTTP2_CANCEL with connectionDropped), a reset one as
 * UNAVAILABLE (ECONNRESET), a passed deadline as DEADLINE_EXCEEDED. Any status the server itself sent
 * (FAILED_PRECONDITION, PERMISSION_DENIED, NOT_FOUND, UNKNOWN for a plain Go error) is a definite no.
 */
const uncertainCodes: ReadonlySet<number> = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED, status.INTERNAL]);

/** The server ended a health stream at its wait timeout (not our deadline): the check has not passed yet. */
type NotHealthyYet = TalosApiError & { notHealthyYet: true };
function isNotHealthyYet(value: unknown): value is NotHealthyYet {
  return isTalosApiError(value) && (value as Partial<NotHealthyYet>).notHealthyYet === true;
}

export function createMachineClient(options: MachineClientOptions): MachineClient {
  const schema = loadSchema();
  const node = options.node ?? options.endpoint;
  const port = options.port ?? talosApiPort;
  const host = isIPv6(options.endpoint) ? `[${options.endpoint}]` : options.endpoint;
  const reconnect = options.reconnectBackoffMs ?? { initial: 500, max: 5000 };
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? defaultBackoff;
  // One channel per certificate (TLS client certificates are per connection), opened on first use.
  const channels = new Map<CallRole, Client>();

  function channelFor(name: MethodName): Client {
    const wanted = callRoles[name];
    const role: CallRole = wanted === "reader" && options.readerConfiguration ? "reader" : "admin";
    const configuration = role === "reader" ? options.readerConfiguration : options.clientConfiguration;
    if (!configuration) throw talosApiError(node, name, "needs the os:admin client certificate, and this client holds none");
    let channel = channels.get(role);
    if (!channel) {
      channel = new Client(`${host}:${port}`, channelCredentials(configuration), {
        "grpc.initial_reconnect_backoff_ms": reconnect.initial,
        "grpc.max_reconnect_backoff_ms": reconnect.max,
      });
      channels.set(role, channel);
    }
    return channel;
  }

  function metadata(): Metadata {
    const md = new Metadata();
    if (node !== options.endpoint) md.set("node", node);
    return md;
  }

  function unaryOnce(method: MethodSchema, request: object, timeoutMs: number): Promise<Record<string, unknown>> {
    const channel = channelFor(method.name);
    return new Promise((resolve, reject) => {
      channel.makeUnaryRequest(
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

  function streamOnce(
    method: MethodSchema,
    request: object,
    timeoutMs: number,
    onMessage?: (message: Record<string, unknown>) => void,
  ): Promise<Record<string, unknown>[]> {
    const channel = channelFor(method.name);
    return new Promise((resolve, reject) => {
      const received: Record<string, unknown>[] = [];
      const deadline = Date.now() + timeoutMs;
      const stream: ClientReadableStream<Record<string, unknown>> = channel.makeServerStreamRequest(
        method.path,
        method.encodeRequest,
        method.decodeResponse,
        request,
        metadata(),
        { deadline: new Date(deadline) },
      );
      stream.on("data", (message: Record<string, unknown>) => {
        received.push(message);
        onMessage?.(message);
      });
      stream.on("error", (error: ServiceError) =>
        // Ended by the server before our own deadline: its wait passed (v1alpha1_cluster.go, HealthCheck).
        reject(
          method.name === "HealthCheck" && error.code === status.DEADLINE_EXCEEDED && Date.now() < deadline
            ? Object.assign(talosApiError(node, "HealthCheck", describeError(error), error.code), { notHealthyYet: true as const })
            : error,
        ),
      );
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
    const timeoutMs = callOptions?.callTimeoutMs ?? callDeadlinesMs[name] ?? callTimeoutMs;
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

  /**
   * Waits (up to the call's retry budget on the clock) until the channel is connected, so that a
   * request that changes the machine is written only once there is a connection to write it to.
   * Until then nothing was sent, so failing here is a definite "not sent".
   */
  async function connected(name: MethodName, callOptions: CallOptions | undefined): Promise<void> {
    const channel = channelFor(name).getChannel();
    const budgetMs = callOptions?.retryForMs ?? options.retryForMs ?? 0;
    const start = clock.now();
    for (let n = 0; ; n++) {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) return;
      const elapsed = clock.now() - start;
      if (state === connectivityState.SHUTDOWN) throw talosApiError(node, name, "not sent: the client is closed");
      if (state === connectivityState.TRANSIENT_FAILURE) {
        if (elapsed >= budgetMs) throw talosApiError(node, name, `not sent: no connection after ${seconds(elapsed)}`, status.UNAVAILABLE);
        await clock.sleep(Math.min(delayFor(n, backoff), budgetMs - elapsed));
      }
      // IDLE/CONNECTING: a connection attempt is under way; wait (real time, bounded) for it to settle.
      const changed = await new Promise<boolean>((resolve) =>
        channel.watchConnectivityState(state, Date.now() + Math.min(callTimeoutMs, reconnect.max), (error) => resolve(!error)),
      );
      if (!changed && state !== connectivityState.TRANSIENT_FAILURE && clock.now() - start >= budgetMs)
        throw talosApiError(node, name, `not sent: still ${connectivityState[state]}`, status.UNAVAILABLE);
    }
  }

  /** A failure after the request was written: definite when the server answered, otherwise unknown. */
  function afterSending(name: MethodName, error: unknown): Error {
    if (isTalosApiError(error)) return error;
    if (isServiceError(error)) {
      if (uncertainCodes.has(error.code))
        return talosApiError(
          node,
          name,
          `${describeError(error)} (the request may have reached the node: not sent again)`,
          error.code,
          true,
        );
      return talosApiError(node, name, describeError(error), error.code);
    }
    return talosApiError(node, name, describeError(error));
  }

  function read<T>(name: MethodName, request: object, pick: (message: Record<string, unknown>) => T, o?: CallOptions): Promise<T> {
    return call(name, async (m, t) => pick(replies.singleMessage(await unaryOnce(m, request, t))), o, isTransient);
  }

  /** Calls that change the machine: sent exactly once, after the connection is up; never retried. */
  async function change(name: MethodName, request: object, o?: CallOptions): Promise<Record<string, unknown>> {
    await connected(name, o);
    const timeoutMs = o?.callTimeoutMs ?? callDeadlinesMs[name] ?? callTimeoutMs;
    let reply: Record<string, unknown>;
    try {
      reply = await unaryOnce(schema[name], request, timeoutMs);
    } catch (error) {
      throw afterSending(name, error);
    }
    try {
      return replies.singleMessage(reply);
    } catch (error) {
      throw talosApiError(node, name, describeError(error));
    }
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

  async function healthCheck(r: HealthCheckRequest, o?: CallOptions): Promise<string[]> {
    const start = clock.now();
    const clusterInfo = { controlPlaneNodes: r.controlPlaneNodes, workerNodes: r.workerNodes, forceEndpoint: r.forceEndpoint ?? "" };
    let last = "";
    for (;;) {
      const remainingMs = (r.untilMs ?? 0) - (clock.now() - start);
      const waitSeconds =
        r.untilMs === undefined ? r.waitTimeoutSeconds : Math.max(1, Math.min(r.waitTimeoutSeconds, Math.ceil(remainingMs / 1000)));
      const request = { waitTimeout: { seconds: waitSeconds, nanos: 0 }, clusterInfo };
      // The server holds the stream open for up to its wait: our deadline must outlast it.
      const timeoutMs = o?.callTimeoutMs ?? waitSeconds * 1000 + callTimeoutMs;
      const onMessage = (message: Record<string, unknown>) => {
        const line = replies.healthMessages([message])[0];
        if (line) {
          last = line;
          r.onProgress?.(line);
        }
      };
      try {
        const messages = await call(
          "HealthCheck",
          async (m, t) => {
            const received = await streamOnce(m, request, t, onMessage);
            const failure = replies.streamFailure(received);
            if (failure) throw new Error(failure);
            return received;
          },
          { ...o, callTimeoutMs: timeoutMs },
          (e) => isTransient(e) && !isNotHealthyYet(e),
        );
        return replies.healthMessages(messages);
      } catch (error) {
        if (!isNotHealthyYet(error)) throw error;
        const elapsed = clock.now() - start;
        // A verdict, not a transport failure: no code, so callers do not fail over to another endpoint.
        if (elapsed >= (r.untilMs ?? 0))
          throw talosApiError(node, "HealthCheck", `cluster not healthy after ${seconds(elapsed)} (last: ${last || error.detail})`);
        await clock.sleep(Math.min(backoff.initialMs, (r.untilMs ?? 0) - elapsed));
      }
    }
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
    reboot: async (mode = "DEFAULT", o) => void (await change("Reboot", { mode }, o)),
    upgrade: async (r, o) =>
      void (await change(
        "Upgrade",
        {
          image: r.image,
          preserve: r.preserve ?? false,
          stage: r.stage ?? false,
          force: r.force ?? false,
          rebootMode: r.rebootMode ?? "DEFAULT",
        },
        o,
      )),
    lifecycleUpgrade: async (image, o) => {
      const containerd = { driver: "CRI", namespace: "NS_SYSTEM" };
      // Pulling is safe to repeat (it only fetches the image): retried while the node refuses connections.
      await stream("ImagePull", { containerd, imageRef: image }, o, (e) => isServiceError(e) && e.code === status.UNAVAILABLE);
      await connected("LifecycleUpgrade", o);
      let progress: Record<string, unknown>[];
      try {
        progress = await streamOnce(
          schema.LifecycleUpgrade,
          { containerd, source: { imageName: image } },
          o?.callTimeoutMs ?? callDeadlinesMs.LifecycleUpgrade ?? callTimeoutMs,
        );
      } catch (error) {
        throw afterSending("LifecycleUpgrade", error);
      }
      const exitCode = replies.lifecycleExitCode(progress);
      if (exitCode !== 0) {
        throw talosApiError(
          node,
          "LifecycleUpgrade",
          exitCode === undefined ? "stream ended without an exit code" : `upgrade failed with exit code ${exitCode}`,
        );
      }
    },
    reset: async (r, o) => void (await change("Reset", { graceful: r.graceful, reboot: r.reboot, mode: r.mode ?? "ALL" }, o)),
    etcdLeaveCluster: async (o) => void (await change("EtcdLeaveCluster", {}, o)),
    etcdRemoveMemberById: async (memberId, o) => void (await change("EtcdRemoveMemberByID", { memberId }, o)),
    etcdForfeitLeadership: async (o) => replies.forfeitedTo(await change("EtcdForfeitLeadership", {}, o)),
    healthCheck,
    close: () => {
      for (const channel of channels.values()) channel.close();
      channels.clear();
    },
  };
}
