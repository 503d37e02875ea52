import * as https from "https";
import type { AddressInfo } from "net";
import type { KubeNode, KubePod, KubeStatus } from "../../components/kubernetesApi";
import type { TestPki } from "./pki";

/**
 * A kube-apiserver stand-in: a real HTTPS server on 127.0.0.1 that requires a client certificate from
 * the test CA, speaking the endpoints the client calls with the real paths, verbs, JSON bodies and
 * status codes (a `Status` object on failure, 429 TooManyRequests with a DisruptionBudget cause for
 * an eviction a budget blocks, 404 NotFound once an object is gone). Scripted per pod; records calls.
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
  budget?: { name: string; blocks: number | "forever" };
  /** After a granted eviction the pod is still listed (terminating) for this many GETs. */
  terminatingPolls?: number;
  /** One container of this name and image (a static pod's component), with its readiness. */
  container?: { name: string; image: string; ready: boolean };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  contentType?: string;
}

interface PodState extends FakePod {
  uid: string;
  evictionsRefused: number;
  deletionTimestamp?: string;
  pollsLeft?: number;
}

let uidSeq = 1;

export class FakeKubernetesApi {
  readonly requests: RecordedRequest[] = [];
  readonly nodes = new Map<string, { unschedulable: boolean; kubeletVersion?: string }>();
  private readonly pods = new Map<string, PodState>();
  /** Called once per request, before it is answered (tests use it to observe ordering). */
  onRequest?: (request: RecordedRequest) => void;

  private constructor(
    private readonly server: https.Server,
    readonly port: number,
  ) {}

  static async start(pki: TestPki): Promise<FakeKubernetesApi> {
    const ready: { fake?: FakeKubernetesApi } = {};
    const server = https.createServer(
      { ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key, requestCert: true, rejectUnauthorized: true },
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => ready.fake?.handle(request, Buffer.concat(chunks).toString("utf8"), response));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const fake = new FakeKubernetesApi(server, (server.address() as AddressInfo).port);
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

  addNode(name: string, kubeletVersion?: string): void {
    this.nodes.set(name, { unschedulable: false, kubeletVersion });
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

  private handle(request: { method?: string; url?: string; headers: Record<string, unknown> }, text: string, response: Response): void {
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
    };
    this.requests.push(recorded);
    this.onRequest?.(recorded);
    const [status, reply] = this.route(recorded);
    response.writeHead(status, { "Content-Type": "application/json" });
    response.end(JSON.stringify(reply));
  }

  private route(r: RecordedRequest): [number, unknown] {
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
        return [200, { kind: "Status", apiVersion: "v1", status: "Success", details: { name, kind: "nodes" } }];
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

  private evict(key: string, pod: PodState | undefined, body: unknown): [number, unknown] {
    const eviction = body as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } | undefined;
    if (eviction?.apiVersion !== "policy/v1" || eviction.kind !== "Eviction")
      return status(400, "BadRequest", "expected a policy/v1 Eviction");
    if (!pod) return notFound("pods", key.split("/")[1]);
    if (eviction.metadata?.name !== pod.name || eviction.metadata.namespace !== pod.namespace)
      return status(400, "BadRequest", "name in URL does not match name in Eviction object");
    if (pod.deletionTimestamp) return [201, { kind: "Status", apiVersion: "v1", status: "Success" }];
    const budget = pod.budget;
    if (budget && (budget.blocks === "forever" || pod.evictionsRefused < budget.blocks)) {
      pod.evictionsRefused++;
      // As pkg/registry/core/pod/storage/eviction.go answers when the budget allows no disruption.
      const reply: KubeStatus = {
        kind: "Status",
        status: "Failure",
        message: "Cannot evict pod as it would violate the pod's disruption budget.",
        reason: "TooManyRequests",
        code: 429,
        details: {
          causes: [{ type: "DisruptionBudget", message: `The disruption budget ${budget.name} needs 1 healthy pods and has 1 currently` }],
        },
      };
      return [429, { apiVersion: "v1", ...reply }];
    }
    if (pod.terminatingPolls && pod.terminatingPolls > 0) {
      pod.deletionTimestamp = new Date().toISOString();
      pod.pollsLeft = pod.terminatingPolls;
    } else {
      this.pods.delete(key);
    }
    return [201, { kind: "Status", apiVersion: "v1", status: "Success", code: 201 }];
  }

  private nodeObject(name: string): KubeNode & { kind: string; apiVersion: string } {
    const node = this.nodes.get(name);
    return {
      kind: "Node",
      apiVersion: "v1",
      metadata: { name, uid: `node-${name}` },
      spec: { unschedulable: node?.unschedulable ?? false },
      ...(node?.kubeletVersion ? { status: { nodeInfo: { kubeletVersion: node.kubeletVersion } } } : {}),
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
        ...(pod.deletionTimestamp ? { deletionTimestamp: pod.deletionTimestamp } : {}),
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

function status(code: number, reason: string, message: string): [number, KubeStatus & { apiVersion: string }] {
  return [code, { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code }];
}

function notFound(kind: string, name: string): [number, KubeStatus & { apiVersion: string }] {
  return [
    404,
    {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: `${kind} "${name}" not found`,
      reason: "NotFound",
      code: 404,
      details: { name, kind },
    },
  ];
}
