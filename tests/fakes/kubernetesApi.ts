import * as https from "https";
import type { AddressInfo } from "net";
import type { KubeNode, KubePod, KubeStatus } from "../../components/kubernetesApi";
import type { Clock } from "../../components/talos/machineApi/clock";
import type { TestPki } from "./pki";

/** One RBAC PolicyRule (rbac.authorization.k8s.io/v1), the fields this fake checks. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface FakeKubernetesOptions {
  /** The clock graceful terminations run on (tests pass their virtual clock); the system clock otherwise. */
  clock?: Clock;
  /** Authorize every request against these rules (403 Forbidden otherwise); no check when absent. */
  rules?: PolicyRule[];
}

/**
 * A kube-apiserver stand-in: a real HTTPS server on 127.0.0.1 that requires a client certificate from
 * the test CA, speaking the endpoints the client calls with the real paths, verbs, JSON bodies and
 * status codes. Scripted per node and pod; records calls. What follows upstream, and where from:
 * - failures are `Status` objects (kind Status, apiVersion v1, metadata {}, status Failure, message,
 *   reason, details, code), shaped as the constructors in kubernetes/apimachinery v0.35.0
 *   pkg/api/errors/errors.go build them (NewNotFound, NewTooManyRequests, NewForbidden, NewBadRequest)
 *   and serialized per pkg/apis/meta/v1/types.go (Status, StatusDetails; a StatusCause's type is the
 *   JSON key `reason`, not `type`);
 * - evictions as kubernetes/kubernetes pkg/registry/core/pod/storage/eviction.go (commit 01aa0f3)
 *   answers them: see `evict`;
 * - a Node's Ready condition as the kubelet posts it (kubernetes pkg/kubelet/nodestatus/setters.go,
 *   ReadyCondition: KubeletReady "kubelet is posting ready status" / KubeletNotReady);
 * - every node runs a DaemonSet pod (the CNI) and every control plane the mirror pods of its static
 *   control-plane pods, as on a Talos node (kubelet mirror pods carry `kubernetes.io/config.mirror`,
 *   k8s.io/api core/v1 annotation_key_constants.go MirrorPodAnnotationKey);
 * - a granted eviction deletes gracefully: `deletionTimestamp` = now + the pod's grace period, and the
 *   pod is listed until the fake's clock passes it (apimachinery types.go ObjectMeta.DeletionTimestamp:
 *   "the time after which this resource will be deleted");
 * - with `rules`, requests are authorized as RBAC does, by verb and resource of the request
 *   (kubernetes/apiserver pkg/endpoints/request/requestinfo.go: GET on a name is get, on a
 *   collection list; POST create; PATCH patch; DELETE delete; `pods/eviction` a subresource),
 *   everything else refused with 403 Forbidden.
 */

export interface FakePod {
  namespace: string;
  name: string;
  nodeName: string;
  /** Owner kind of the controller reference (ReplicaSet, StatefulSet, DaemonSet, ...); none for a bare pod. */
  owner?: string;
  /** A static pod's mirror (annotation `kubernetes.io/config.mirror`). */
  mirror?: boolean;
  emptyDir?: boolean;
  phase?: string;
  /** A PodDisruptionBudget covering the pod: evictions get 429 this many times (or always), then pass. */
  budget?: { name: string; blocks: number | "forever"; desiredHealthy?: number; currentHealthy?: number };
  /** More than one PodDisruptionBudget selects the pod: the eviction subresource answers 500. */
  overlappingBudgets?: boolean;
  /** After a granted eviction the pod is still listed (terminating) for this many GETs. */
  terminatingPolls?: number;
  /** terminationGracePeriodSeconds: after a granted eviction the pod is listed until this passes on the fake's clock. */
  graceSeconds?: number;
  /** One container of this name and image (a static pod's component), with its readiness. */
  container?: { name: string; image: string; ready: boolean };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  contentType?: string;
  /** The client certificate's CN: the user RBAC sees (x509 authenticator). */
  user?: string;
}

interface PodState extends FakePod {
  uid: string;
  evictionsRefused: number;
  deletionTimestamp?: string;
  /** When the pod is gone, on the fake's clock. */
  deleteAtMs?: number;
  pollsLeft?: number;
}

export interface FakeNode {
  unschedulable: boolean;
  kubeletVersion?: string;
  /** The Ready condition the kubelet posts; a message for the NotReady case. */
  ready: boolean;
  notReadyMessage?: string;
  /** Its kubelet stopped posting (renamed, or gone): the node lifecycle controller has marked it Unknown. */
  unknown?: boolean;
}

/** What `addNode` puts on a node unless told otherwise: a Talos node's DaemonSet and mirror pods. */
export interface NodeOptions {
  role?: "controlplane" | "worker";
  ready?: boolean;
  /** No default pods (a test that scripts every pod itself). */
  bare?: boolean;
}

let uidSeq = 1;

export class FakeKubernetesApi {
  readonly requests: RecordedRequest[] = [];
  readonly nodes = new Map<string, FakeNode>();
  /** `verb resource` of every authorized request (RBAC's view of what the client did). */
  readonly authorized = new Set<string>();
  private readonly pods = new Map<string, PodState>();
  /** Called once per request, before it is answered (tests use it to observe ordering). */
  onRequest?: (request: RecordedRequest) => void;

  private constructor(
    private readonly server: https.Server,
    readonly port: number,
    private readonly options: FakeKubernetesOptions,
  ) {}

  private now(): number {
    return this.options.clock ? this.options.clock.now() : Date.now();
  }

  static async start(pki: TestPki, options: FakeKubernetesOptions = {}): Promise<FakeKubernetesApi> {
    const ready: { fake?: FakeKubernetesApi } = {};
    const server = https.createServer(
      { ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key, requestCert: true, rejectUnauthorized: true },
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        const peer = (request.socket as import("tls").TLSSocket).getPeerCertificate();
        const user = typeof peer.subject?.CN === "string" ? peer.subject.CN : undefined;
        request.on("end", () => ready.fake?.handle(request, Buffer.concat(chunks).toString("utf8"), response, user));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const fake = new FakeKubernetesApi(server, (server.address() as AddressInfo).port, options);
    ready.fake = fake;
    return fake;
  }

  /** A kubeconfig as Talos issues it: base64 PEM data for the CA, the client certificate and key. */
  kubeconfig(pki: TestPki, client = pki.client): string {
    const b64 = (pem: string) => Buffer.from(pem).toString("base64");
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "  - name: lab",
      "    cluster:",
      `      server: https://127.0.0.1:${this.port}`,
      `      certificate-authority-data: ${b64(pki.ca.cert)}`,
      "users:",
      "  - name: admin@lab",
      "    user:",
      `      client-certificate-data: ${b64(client.cert)}`,
      `      client-key-data: ${b64(client.key)}`,
      "contexts:",
      "  - name: admin@lab",
      "    context:",
      "      cluster: lab",
      "      user: admin@lab",
      "current-context: admin@lab",
      "",
    ].join("\n");
  }

  /**
   * A node, or the same node with another kubelet version (a restarted kubelet: the cordon stays).
   * Adds the node's DaemonSet pod and, on a control plane, its static pods' mirrors, unless `bare`.
   */
  addNode(name: string, kubeletVersion?: string, options: NodeOptions = {}): void {
    const before = this.nodes.get(name);
    this.nodes.set(name, { unschedulable: before?.unschedulable ?? false, kubeletVersion, ready: options.ready ?? before?.ready ?? true });
    if (options.bare) return;
    const add = (pod: FakePod) => !this.hasPod(pod.namespace, pod.name) && this.addPod(pod);
    add({ namespace: "kube-system", name: `cilium-${name}`, nodeName: name, owner: "DaemonSet" });
    if (options.role === "controlplane")
      for (const component of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"])
        add({ namespace: "kube-system", name: `${component}-${name}`, nodeName: name, mirror: true });
  }

  /** The kubelet posts Ready (or NotReady with this message). */
  setNodeReady(name: string, ready: boolean, notReadyMessage?: string): void {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`fake: no node ${name}`);
    Object.assign(node, { ready, notReadyMessage });
  }

  /**
   * The kubelet stopped posting this Node and the grace period passed: the node lifecycle controller
   * sets Ready to Unknown, NodeStatusUnknown, "Kubelet stopped posting node status."
   * (kubernetes/kubernetes pkg/controller/nodelifecycle/node_lifecycle_controller.go, commit 003e862,
   * tryUpdateNodeHealth; it marks the pressure conditions too, which this fake never lists).
   */
  stopPosting(name: string): void {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`fake: no node ${name}`);
    node.unknown = true;
  }

  /** Replaces a pod's container (a static pod restarted with another image), keeping the rest. */
  setContainer(namespace: string, name: string, container: FakePod["container"]): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`fake: no pod ${namespace}/${name}`);
    pod.container = container;
  }

  addPod(pod: FakePod): void {
    this.pods.set(`${pod.namespace}/${pod.name}`, { ...pod, uid: `uid-${uidSeq++}`, evictionsRefused: 0 });
  }

  hasPod(namespace: string, name: string): boolean {
    return this.pods.has(`${namespace}/${name}`);
  }

  /** `VERB path` of every request, in arrival order. */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(
    request: { method?: string; url?: string; headers: Record<string, unknown> },
    text: string,
    response: Response,
    user?: string,
  ): void {
    const url = new URL(request.url ?? "/", "https://127.0.0.1");
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const recorded: RecordedRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(body === undefined ? {} : { body }),
      ...(typeof request.headers["content-type"] === "string" ? { contentType: request.headers["content-type"] } : {}),
      ...(user ? { user } : {}),
    };
    this.requests.push(recorded);
    this.onRequest?.(recorded);
    const [status, reply] = this.authorize(recorded) ?? this.route(recorded);
    response.writeHead(status, { "Content-Type": "application/json" });
    response.end(JSON.stringify(reply));
  }

  /** RBAC's verb and resource of a request (requestinfo.go), checked against `rules`; a 403 Status when none grants it. */
  private authorize(r: RecordedRequest): [number, unknown] | undefined {
    const info = requestInfo(r);
    if (!this.options.rules || !info) {
      if (info) this.authorized.add(`${info.verb} ${info.resource}`);
      return undefined;
    }
    const granted = this.options.rules.some(
      (rule) =>
        rule.apiGroups.includes("") &&
        (rule.resources.includes(info.resource) || rule.resources.includes("*")) &&
        (rule.verbs.includes(info.verb) || rule.verbs.includes("*")),
    );
    if (granted) {
      this.authorized.add(`${info.verb} ${info.resource}`);
      return undefined;
    }
    // pkg/api/errors NewForbidden with the RBAC authorizer's reason (apiserver endpoints/handlers/responsewriters/errors.go forbiddenMessage).
    const [resource, subresource] = info.resource.split("/");
    const what = `resource "${resource}"${subresource ? ` subresource "${subresource}"` : ""}`;
    const scope = info.namespace ? `in the namespace "${info.namespace}"` : "at the cluster scope";
    const message = `${resource}${info.name ? ` "${info.name}"` : ""} is forbidden: User "${r.user ?? ""}" cannot ${info.verb} ${what} in API group "" ${scope}`;
    return [403, failure(403, "Forbidden", message, { ...(info.name ? { name: info.name } : {}), kind: resource })];
  }

  /** A graceful deletion that has run its course on the fake's clock. */
  private expire(key: string, pod: PodState): boolean {
    if (pod.deleteAtMs === undefined || this.now() < pod.deleteAtMs) return false;
    this.pods.delete(key);
    return true;
  }

  private route(r: RecordedRequest): [number, unknown] {
    for (const [key, pod] of this.pods) this.expire(key, pod);
    let match: RegExpExecArray | null;
    if ((match = /^\/api\/v1\/nodes\/([^/]+)$/.exec(r.path))) {
      const name = decodeURIComponent(match[1]);
      const node = this.nodes.get(name);
      if (!node) return notFound("nodes", name);
      if (r.method === "GET") return [200, this.nodeObject(name)];
      if (r.method === "PATCH") {
        if (r.contentType !== "application/merge-patch+json")
          return status(415, "UnsupportedMediaType", `the body of the request was in an unknown format`);
        const spec = (r.body as { spec?: { unschedulable?: unknown } } | undefined)?.spec;
        if (typeof spec?.unschedulable === "boolean") node.unschedulable = spec.unschedulable;
        return [200, this.nodeObject(name)];
      }
      if (r.method === "DELETE") {
        this.nodes.delete(name);
        // A Node has no finalizers here: the store answers with the deleted object (registry/generic/registry/store.go Delete).
        return [200, { kind: "Node", apiVersion: "v1", metadata: { name, uid: `node-${name}` } }];
      }
    }
    if (r.path === "/api/v1/pods" && r.method === "GET") {
      const selector = /^spec\.nodeName=(.*)$/.exec(r.query.fieldSelector ?? "");
      const items = [...this.pods.values()].filter((p) => !selector || p.nodeName === selector[1]).map((p) => this.podObject(p));
      return [200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "1" }, items }];
    }
    if ((match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)(\/eviction)?$/.exec(r.path))) {
      const key = `${decodeURIComponent(match[1])}/${decodeURIComponent(match[2])}`;
      const pod = this.pods.get(key);
      if (match[3] && r.method === "POST") return this.evict(key, pod, r.body);
      if (!match[3] && r.method === "GET") {
        if (!pod) return notFound("pods", decodeURIComponent(match[2]));
        if (pod.pollsLeft !== undefined && pod.pollsLeft-- <= 0) {
          this.pods.delete(key);
          return notFound("pods", pod.name);
        }
        return [200, this.podObject(pod)];
      }
    }
    return status(405, "MethodNotAllowed", `${r.method} ${r.path} is not served by this fake`);
  }

  /**
   * pkg/registry/core/pod/storage/eviction.go (kubernetes/kubernetes, commit 01aa0f3), Create:
   * a name mismatch is 400 BadRequest; a missing pod 404 (store.Get); a pod that is terminal, Pending
   * or already terminating is deleted without looking at budgets (canIgnorePDB); more than one budget
   * is a 500 Failure Status; a budget allowing no disruption is 429 TooManyRequests "Cannot evict pod
   * as it would violate the pod's disruption budget." with a DisruptionBudget cause (checkAndDecrement);
   * otherwise the pod is deleted and the answer is `Status{Status: Success}`, 201 as the create handler
   * sets a Status without code (apiserver pkg/endpoints/handlers/create.go).
   */
  private evict(key: string, pod: PodState | undefined, body: unknown): [number, unknown] {
    const eviction = body as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } | undefined;
    if (eviction?.apiVersion !== "policy/v1" || eviction.kind !== "Eviction")
      return [400, failure(400, "BadRequest", "expected a policy/v1 Eviction")];
    const [, podName] = key.split("/");
    if (eviction.metadata?.name !== podName) return [400, failure(400, "BadRequest", "name in URL does not match name in Eviction object")];
    if (!pod) return notFound("pods", podName);
    const phase = pod.phase ?? "Running";
    const ignoresBudgets = phase === "Succeeded" || phase === "Failed" || phase === "Pending" || pod.deletionTimestamp !== undefined;
    if (!ignoresBudgets && pod.overlappingBudgets)
      return [
        500,
        failure(500, undefined, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."),
      ];
    const budget = pod.budget;
    if (!ignoresBudgets && budget && (budget.blocks === "forever" || pod.evictionsRefused < budget.blocks)) {
      pod.evictionsRefused++;
      const needs = budget.desiredHealthy ?? 1;
      const has = budget.currentHealthy ?? needs;
      return [
        429,
        failure(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", {
          causes: [
            {
              reason: "DisruptionBudget",
              message: `The disruption budget ${budget.name} needs ${needs} healthy pods and has ${has} currently`,
            },
          ],
        }),
      ];
    }
    if (!pod.deletionTimestamp) this.deleteGracefully(key, pod);
    return [201, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 }];
  }

  private deleteGracefully(key: string, pod: PodState): void {
    if (pod.terminatingPolls && pod.terminatingPolls > 0) {
      pod.deletionTimestamp = new Date(this.now()).toISOString();
      pod.pollsLeft = pod.terminatingPolls;
    } else if (pod.graceSeconds && pod.graceSeconds > 0) {
      pod.deleteAtMs = this.now() + pod.graceSeconds * 1000;
      pod.deletionTimestamp = new Date(pod.deleteAtMs).toISOString();
    } else {
      this.pods.delete(key);
    }
  }

  private nodeObject(name: string): KubeNode & { kind: string; apiVersion: string } {
    const node = this.nodes.get(name);
    return {
      kind: "Node",
      apiVersion: "v1",
      metadata: { name, uid: `node-${name}` },
      spec: { unschedulable: node?.unschedulable ?? false },
      status: {
        conditions: [
          node?.unknown
            ? { type: "Ready", status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." }
            : node?.ready === false
              ? {
                  type: "Ready",
                  status: "False",
                  reason: "KubeletNotReady",
                  message: node.notReadyMessage ?? "container runtime status check may not have completed yet",
                }
              : { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" },
        ],
        ...(node?.kubeletVersion ? { nodeInfo: { kubeletVersion: node.kubeletVersion } } : {}),
      },
    };
  }

  private podObject(pod: PodState): KubePod & { kind: string; apiVersion: string } {
    return {
      kind: "Pod",
      apiVersion: "v1",
      metadata: {
        name: pod.name,
        namespace: pod.namespace,
        uid: pod.uid,
        ...(pod.mirror ? { annotations: { "kubernetes.io/config.mirror": "3f1c" } } : {}),
        ...(pod.owner
          ? { ownerReferences: [{ apiVersion: "apps/v1", kind: pod.owner, name: `${pod.name}-owner`, controller: true }] }
          : {}),
        ...(pod.deletionTimestamp ? { deletionTimestamp: pod.deletionTimestamp, deletionGracePeriodSeconds: pod.graceSeconds ?? 0 } : {}),
      },
      spec: {
        nodeName: pod.nodeName,
        volumes: pod.emptyDir ? [{ name: "scratch", emptyDir: {} }] : [],
        ...(pod.container ? { containers: [{ name: pod.container.name, image: pod.container.image }] } : {}),
      },
      status: {
        phase: pod.phase ?? "Running",
        ...(pod.container ? { containerStatuses: [{ name: pod.container.name, ready: pod.container.ready }] } : {}),
      },
    };
  }
}

type Response = { writeHead(status: number, headers: Record<string, string>): unknown; end(text: string): unknown };

/** A failure `Status` as the apimachinery error constructors build it (metadata {} as encoding/json writes an empty ListMeta). */
function failure(code: number, reason: string | undefined, message: string, details?: KubeStatus["details"] & Record<string, unknown>) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    ...(reason ? { reason } : {}),
    ...(details ? { details } : {}),
    code,
  };
}

function status(code: number, reason: string, message: string): [number, unknown] {
  return [code, failure(code, reason, message)];
}

/** NewNotFound(schema.GroupResource{Resource: kind}, name): `pods "x" not found`, details {name, kind}. */
function notFound(kind: string, name: string): [number, unknown] {
  return [404, failure(404, "NotFound", `${kind} "${name}" not found`, { name, kind })];
}

/** requestinfo.go's verb and resource for the paths this fake serves (core group only). */
function requestInfo(r: RecordedRequest): { verb: string; resource: string; name?: string; namespace?: string } | undefined {
  const parts = r.path
    .replace(/^\/api\/v1\/?/, "")
    .split("/")
    .filter(Boolean)
    .map(decodeURIComponent);
  if (!r.path.startsWith("/api/v1") || parts.length === 0) return undefined;
  let namespace: string | undefined;
  if (parts[0] === "namespaces" && parts.length > 2) {
    namespace = parts[1];
    parts.splice(0, 2);
  }
  const [resource, name, subresource] = parts;
  const verbs: Record<string, string> = {
    GET: name ? "get" : "list",
    POST: "create",
    PATCH: "patch",
    PUT: "update",
    DELETE: name ? "delete" : "deletecollection",
  };
  const verb = verbs[r.method];
  if (!verb) return undefined;
  return { verb, resource: subresource ? `${resource}/${subresource}` : resource, name, namespace };
}
