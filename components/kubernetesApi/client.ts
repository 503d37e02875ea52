import { X509Certificate } from "crypto";
import * as https from "https";
import { systemClock, type Clock } from "../talos/machineApi/clock";
import { kubernetesApiError } from "./errors";
import { parseKubeconfig, type KubeCredentials } from "./kubeconfig";
import type { EvictionOutcome, KubeNode, KubePod, KubeStatus } from "./types";

/**
 * A small Kubernetes REST client on Node's own `https`: the handful of calls node removal and
 * upgrades make (Node get/patch/delete, pods on a node, policy/v1 Eviction).
 *
 * Why not the official `@kubernetes/client-node`: its 1.x line is ESM-only, which neither jest's
 * CommonJS runtime (ts-jest, this repository's test setup) nor a Pulumi dynamic provider loads
 * reliably — the provider is serialized by `runtime.serializeFunction` and re-`require`d by name in
 * the engine's provider process, and `require()` of an ES module is not available on every Node 20
 * line. Its 0.x line (CommonJS) is end-of-life. The calls below are five REST endpoints with JSON
 * bodies; owning them keeps the provider serializable and the error messages ours.
 */

export interface KubernetesClientOptions {
  /** A kubeconfig document (YAML), e.g. the Talos admin kubeconfig. */
  kubeconfig: string;
  /** Deadline of one HTTP request. */
  callTimeoutMs?: number;
  /** How long a call keeps retrying while the API server is unreachable (connection refused/reset, timeout). */
  retryForMs?: number;
  clock?: Clock;
}

export interface KubernetesClient {
  /** The API server URL (what errors name). */
  readonly server: string;
  /** The Node, or undefined when there is none by that name. */
  getNode(name: string): Promise<KubeNode | undefined>;
  /** Cordon (`true`) or uncordon (`false`): a merge patch of `spec.unschedulable`. */
  setUnschedulable(name: string, unschedulable: boolean): Promise<void>;
  /** Every pod bound to the node, in all namespaces (`fieldSelector=spec.nodeName=<node>`). */
  listPodsOnNode(node: string): Promise<KubePod[]>;
  /** POST a policy/v1 Eviction for the pod: evicted, gone (404) or blocked by a disruption budget (429). */
  evictPod(namespace: string, name: string): Promise<EvictionOutcome>;
  /** The pod, or undefined once it is gone. */
  getPod(namespace: string, name: string): Promise<KubePod | undefined>;
  /** Deletes the Node object; "absent" when there was none. */
  deleteNode(name: string): Promise<"deleted" | "absent">;
}

interface Reply {
  statusCode: number;
  body: unknown;
}

const transientCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EPIPE", "TIMEOUT"]);

function isTransientNetworkError(error: unknown): boolean {
  return error instanceof Error && transientCodes.has(String((error as { code?: unknown }).code));
}

function statusOf(body: unknown): KubeStatus {
  return body !== null && typeof body === "object" ? (body as KubeStatus) : {};
}

/** `429 TooManyRequests: Cannot evict pod ...`: the status, the reason and the server's message. */
function describeReply(reply: Reply): string {
  const status = statusOf(reply.body);
  const message = status.message ?? (typeof reply.body === "string" ? reply.body : "");
  return `${reply.statusCode}${status.reason ? ` ${status.reason}` : ""}${message ? `: ${message}` : ""}`;
}

/**
 * The budget named by the eviction's DisruptionBudget cause: `The disruption budget pg needs 1 healthy
 * pods and has 1 currently`, or `... pg is still being processed by the server.` (kubernetes
 * pkg/registry/core/pod/storage/eviction.go checkAndDecrement, createTooManyRequestsError; the cause
 * type travels as `reason`, apimachinery meta/v1 types.go StatusCause).
 */
export function budgetOf(status: KubeStatus): { name: string; detail: string } | undefined {
  for (const cause of status.details?.causes ?? []) {
    const match = /disruption budget (\S+) (.*)$/.exec(cause.message ?? "");
    if (cause.reason === "DisruptionBudget" && match) return { name: match[1], detail: match[2].replace(/\.$/, "") };
  }
  return undefined;
}

export function createKubernetesClient(options: KubernetesClientOptions): KubernetesClient {
  const credentials: KubeCredentials = parseKubeconfig(options.kubeconfig);
  const callTimeoutMs = options.callTimeoutMs ?? 15_000;
  const retryForMs = options.retryForMs ?? 30_000;
  const clock = options.clock ?? systemClock;
  const base = new URL(credentials.server);

  function once(method: string, path: string, body: unknown, contentType: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = { Accept: "application/json" };
      if (payload) Object.assign(headers, { "Content-Type": contentType, "Content-Length": payload.length });
      if (credentials.token) headers.Authorization = `Bearer ${credentials.token}`;
      const request = https.request(
        {
          protocol: "https:",
          hostname: base.hostname.replace(/^\[|\]$/g, ""),
          port: base.port || 443,
          path: `${base.pathname.replace(/\/+$/, "")}${path}`,
          method,
          headers,
          ca: credentials.ca,
          cert: credentials.clientCertificate,
          key: credentials.clientKey,
          // No pooled sockets: a provider process must be free to exit once its call is answered.
          agent: false,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = text === "" ? undefined : JSON.parse(text);
            } catch {
              // Not JSON (a proxy's error page): kept as text for the message.
            }
            resolve({ statusCode: response.statusCode ?? 0, body: parsed });
          });
        },
      );
      request.setTimeout(callTimeoutMs, () =>
        request.destroy(Object.assign(new Error(`no answer within ${Math.round(callTimeoutMs / 1000)}s`), { code: "TIMEOUT" })),
      );
      request.on("error", reject);
      request.end(payload);
    });
  }

  /** One call, retried while the server is unreachable; any other failure names the call and the server's answer. */
  async function call(name: string, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<Reply> {
    const start = clock.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(method, path, body, contentType);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        const elapsed = clock.now() - start;
        if (!isTransientNetworkError(error) || elapsed >= retryForMs) {
          throw kubernetesApiError(
            `${name} (${credentials.server})`,
            elapsed > 0 ? `unreachable after ${Math.round(elapsed / 1000)}s (last: ${detail})` : detail,
          );
        }
        await clock.sleep(Math.min(500 * 2 ** attempt, 5000, retryForMs - elapsed));
      }
    }
  }

  // A 401 with a client certificate is almost always an expired one (a removal runs with the
  // kubeconfig stored at the membership's last update): say until when it was valid.
  const certificate = credentials.clientCertificate ? new X509Certificate(credentials.clientCertificate) : undefined;
  function failure(name: string, reply: Reply): Error {
    let detail = describeReply(reply);
    if (reply.statusCode === 401 && certificate) {
      const expired = Date.parse(certificate.validTo) <= Date.now();
      detail += ` (client certificate ${certificate.subject.replace(/\n/g, ", ")} valid until ${certificate.validTo}${expired ? ": expired" : ""})`;
    }
    return kubernetesApiError(`${name} (${credentials.server})`, detail, reply.statusCode, statusOf(reply.body).reason);
  }

  const ok = (reply: Reply) => reply.statusCode >= 200 && reply.statusCode < 300;
  const segment = encodeURIComponent;

  return {
    server: credentials.server,
    async getNode(name) {
      const reply = await call(`get node ${name}`, "GET", `/api/v1/nodes/${segment(name)}`);
      if (reply.statusCode === 404) return undefined;
      if (!ok(reply)) throw failure(`get node ${name}`, reply);
      return reply.body as KubeNode;
    },
    async setUnschedulable(name, unschedulable) {
      const what = `${unschedulable ? "cordon" : "uncordon"} node ${name}`;
      const reply = await call(
        what,
        "PATCH",
        `/api/v1/nodes/${segment(name)}`,
        { spec: { unschedulable } },
        "application/merge-patch+json",
      );
      if (!ok(reply)) throw failure(what, reply);
    },
    async listPodsOnNode(node) {
      const query = new URLSearchParams({ fieldSelector: `spec.nodeName=${node}` });
      const reply = await call(`list pods on ${node}`, "GET", `/api/v1/pods?${query.toString()}`);
      if (!ok(reply)) throw failure(`list pods on ${node}`, reply);
      const items = (reply.body as { items?: KubePod[] } | undefined)?.items;
      return Array.isArray(items) ? items : [];
    },
    async evictPod(namespace, name) {
      const what = `evict pod ${namespace}/${name}`;
      const reply = await call(what, "POST", `/api/v1/namespaces/${segment(namespace)}/pods/${segment(name)}/eviction`, {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name, namespace },
      });
      if (ok(reply)) return { outcome: "evicted" };
      if (reply.statusCode === 404) return { outcome: "gone" };
      if (reply.statusCode === 429) {
        const status = statusOf(reply.body);
        const budget = budgetOf(status);
        return { outcome: "blocked", budget: budget?.name, budgetDetail: budget?.detail, message: status.message ?? describeReply(reply) };
      }
      throw failure(what, reply);
    },
    async getPod(namespace, name) {
      const what = `get pod ${namespace}/${name}`;
      const reply = await call(what, "GET", `/api/v1/namespaces/${segment(namespace)}/pods/${segment(name)}`);
      if (reply.statusCode === 404) return undefined;
      if (!ok(reply)) throw failure(what, reply);
      return reply.body as KubePod;
    },
    async deleteNode(name) {
      const reply = await call(`delete node ${name}`, "DELETE", `/api/v1/nodes/${segment(name)}`);
      if (reply.statusCode === 404) return "absent";
      if (!ok(reply)) throw failure(`delete node ${name}`, reply);
      return "deleted";
    },
  };
}
