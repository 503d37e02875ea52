import type {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { parseAllDocuments } from "yaml";
import { cidrRange, contains, hostRange, ipRange, isIpv4, overlaps, privateKind, single, type Ipv4Range } from "./ipv4";
import { privateKind6 } from "./ipv6";
import { factsSchema, type FactsConfig } from "./facts";
import { get, type Props } from "./values";

const helmRelease = "kubernetes:helm.sh/v3:Release";
const talosApply = "talos:machine/configurationApply:ConfigurationApply";

function releaseName(args: { props: Props; name: string }): string {
  return String(args.props.name ?? args.name);
}

/** A Helm boolean: charts take `true` and the string "true" alike. */
function on(value: unknown): boolean {
  return value === true || value === "true";
}

/** The last value any patch document sets at `path` (later patches win), or undefined. */
function patched(docs: Props[], path: string): unknown {
  return docs.reduce<unknown>((found, d) => get(d, path) ?? found, undefined);
}

/** Talos' default KubePrism port (siderolabs/talos pkg/machinery/constants `DefaultKubePrismPort`). */
const kubePrismDefaultPort = 7445;

/** Talos patch documents of an apply, parsed. */
export function talosPatches(props: Props): Props[] {
  const patches = Array.isArray(props.configPatches) ? props.configPatches : [];
  return patches.filter((p): p is string => typeof p === "string").flatMap((p) => parseAllDocuments(p).map((d) => d.toJS() as Props));
}

export const ciliumReplacesKubeProxy: ResourceValidationPolicy = {
  name: "cilium-kube-proxy-replacement",
  description: "Cilium replaces kube-proxy (k8sServiceHost/Port set), encrypts with WireGuard, and names the cluster with an id in 1-255.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== helmRelease || !/^cilium$/.test(releaseName(args))) return;
    const values = (args.props.values ?? {}) as Props;
    if (!on(get(values, "kubeProxyReplacement"))) report("kubeProxyReplacement must be true (Talos runs without kube-proxy)");
    if (!get(values, "k8sServiceHost") || !get(values, "k8sServicePort"))
      report("k8sServiceHost and k8sServicePort must be set: without kube-proxy Cilium cannot find the API server through the Service");
    if (!on(get(values, "encryption.enabled")) || get(values, "encryption.type") !== "wireguard")
      report("node-to-node traffic must be encrypted: encryption.enabled true with type wireguard");
    const id = get(values, "cluster.id");
    if (!get(values, "cluster.name") || typeof id !== "number" || id < 1 || id > 255)
      report("cluster.name must be set and cluster.id must be 1-255 (ClusterMesh)");
  },
};

export const talosHandsNetworkToCilium: ResourceValidationPolicy = {
  name: "talos-cni-none-proxy-disabled",
  description: "Talos machine configs set the CNI to none and disable kube-proxy, so Cilium owns the datapath.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== talosApply) return;
    const docs = talosPatches(args.props);
    if (!docs.some((d) => get(d, "cluster.network.cni.name") === "none"))
      report("the config patches must set cluster.network.cni.name: none");
    if (!docs.some((d) => get(d, "cluster.proxy.disabled") === true)) report("the config patches must set cluster.proxy.disabled: true");
  },
};

export const ciliumAndTalosAgree: StackValidationPolicy = {
  name: "cilium-talos-agree",
  description: "If any Talos node keeps kube-proxy, Cilium must not replace it, and the other way round: both sides agree.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report) => {
    const cilium = args.resources.find((r) => r.type === helmRelease && releaseName(r) === "cilium");
    if (!cilium) return;
    const replacement = on(get(cilium.props.values, "kubeProxyReplacement"));
    for (const apply of args.resources.filter((r) => r.type === talosApply)) {
      const proxyDisabled = talosPatches(apply.props).some((d) => get(d, "cluster.proxy.disabled") === true);
      if (replacement !== proxyDisabled)
        report(`Cilium kubeProxyReplacement is ${replacement} but this node's kube-proxy disabled is ${proxyDisabled}`, apply.urn);
    }
  },
};

/**
 * The names the CoreDNS pods give their port 53, with the protocol of each: coredns/helm
 * coredns-1.46.2 charts/coredns/templates/_helpers.tpl `coredns.containerPorts` names every port
 * `udp-<port>` / `tcp-<port>` (the chart's default server serves 53 over both). Not `dns`/`dns-tcp`:
 * those are the names of Kubernetes' own addon manifest and Talos' built-in CoreDNS, which this
 * program replaces with the chart.
 */
const coreDnsPortNames: Readonly<Record<string, string>> = { "udp-53": "UDP", "tcp-53": "TCP" };

/**
 * Whether one NetworkPolicyPort of an egress rule lets a pod reach CoreDNS on 53 (k8s.io/api
 * networking/v1 types.go `NetworkPolicyPort`, as @pulumi/kubernetes types it: protocol defaults to
 * TCP; no port means every port; endPort closes a numbered range; a named port matches a container
 * port of that name and protocol on the peer pods, so it allows DNS only when it is a name the
 * CoreDNS pods give port 53).
 */
function reachesDns(entry: Props): boolean {
  const protocol = entry.protocol ?? "TCP";
  const port = entry.port;
  if (typeof port === "string") return coreDnsPortNames[port] === protocol;
  if (protocol !== "TCP" && protocol !== "UDP") return false;
  if (typeof port !== "number") return port === undefined || port === null;
  const last = typeof entry.endPort === "number" ? entry.endPort : port;
  return port <= 53 && last >= 53;
}

export const namespacesDenyByDefault: StackValidationPolicy = {
  name: "namespace-default-deny",
  description:
    "Every Namespace the program creates has a default-deny NetworkPolicy (ingress and egress) and allows DNS; namespaces are exempt only with a reason in the policy config.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateStack: (args, report) => {
    const { facts } = args.getConfig<FactsConfig>();
    const policies = args.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    for (const ns of args.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace")) {
      const name = String(get(ns.props, "metadata.name") ?? ns.name);
      if (Object.hasOwn(facts.networkPolicyExempt, name)) continue;
      const inNs = policies.filter((p) => get(p.props, "metadata.namespace") === name);
      const denyAll = inNs.some((p) => {
        const spec = (p.props.spec ?? {}) as Props;
        const types = spec.policyTypes;
        const selector = spec.podSelector as Props | undefined;
        return (
          Array.isArray(types) &&
          types.includes("Ingress") &&
          types.includes("Egress") &&
          selector !== undefined &&
          Object.keys(selector).length === 0 &&
          !spec.ingress &&
          !spec.egress
        );
      });
      const egressRules = inNs.flatMap((p) => {
        const rules = get(p.props, "spec.egress");
        return Array.isArray(rules) ? (rules as Props[]) : [];
      });
      const listed = (value: unknown): Props[] => (Array.isArray(value) ? (value as Props[]) : []);
      // A rule without peers and ports allows every egress; with peers but no ports, whether CoreDNS is
      // among the peers is not judged here, so only a port on 53 counts (not an ingress rule, not 5353).
      const dns = egressRules.some(
        (rule) => (listed(rule.to).length === 0 && listed(rule.ports).length === 0) || listed(rule.ports).some(reachesDns),
      );
      if (!denyAll)
        report(
          `namespace ${name} has no default-deny NetworkPolicy for ingress and egress (or an exemption with a reason in the policy config)`,
          ns.urn,
        );
      const names = egressRules.flatMap((rule) => listed(rule.ports).flatMap((port) => (typeof port.port === "string" ? [port.port] : [])));
      const unmatched =
        names.length === 0
          ? ""
          : `: named port ${[...new Set(names)].join(", ")} matches no port of the CoreDNS pods (the coredns chart names its port 53 ${Object.keys(coreDnsPortNames).join(" and ")})`;
      if (!dns) report(`namespace ${name} has no NetworkPolicy allowing DNS (port 53) to CoreDNS${unmatched}`, ns.urn);
    }
  },
};

function podSpecs(props: Props): Props[] {
  const spec = props.spec as Props | undefined;
  const template = get(spec, "template.spec") ?? get(spec, "jobTemplate.spec.template.spec");
  return [template, props.kind === "Pod" || (spec && "containers" in spec) ? spec : undefined].filter(
    (s): s is Props => typeof s === "object" && s !== null,
  );
}

export const loadBalancersFromOwnPool: ResourceValidationPolicy = {
  name: "loadbalancer-from-pool",
  description:
    "LoadBalancer Services take addresses only from the cluster's Cilium pool; NodePort Services and hostNetwork/hostPort pods are refused outside the allow-list.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateResource: (args, report) => {
    const { facts } = args.getConfig<FactsConfig>();
    const allowed =
      facts.hostNetworkAllowed.includes(args.name) || facts.hostNetworkAllowed.includes(String(get(args.props, "metadata.name")));
    if (args.type === "kubernetes:core/v1:Service") {
      const type = get(args.props, "spec.type");
      if (type === "NodePort" && !allowed) report("NodePort Services are not allowed; use a LoadBalancer address from the Cilium pool");
      if (type === "LoadBalancer") {
        const pool = ipRange(facts.pool.start, facts.pool.end);
        // Cilium's LB-IPAM request annotation (current key, and the one before 1.15).
        const annotations = (get(args.props, "metadata.annotations") ?? {}) as Props;
        const requested = [
          get(args.props, "spec.loadBalancerIP"),
          annotations["lbipam.cilium.io/ips"],
          annotations["io.cilium/lb-ipam-ips"],
        ]
          .flatMap((v) => (typeof v === "string" ? v.split(",") : []))
          .map((ip) => ip.trim())
          .filter((ip) => ip !== "");
        for (const ip of requested)
          if (!isIpv4(ip) || !contains(pool, single(ip)))
            report(`${ip} is outside the cluster's LoadBalancer pool ${facts.pool.start}-${facts.pool.end}`);
      }
      return;
    }
    if (allowed) return;
    for (const spec of podSpecs(args.props)) {
      if (spec.hostNetwork === true) report("hostNetwork pods are allowed only for allow-listed system components (Cilium, Spegel)");
      const containers = [spec.containers, spec.initContainers].filter(Array.isArray).flat() as Props[];
      if (containers.some((c) => Array.isArray(c.ports) && (c.ports as Props[]).some((p) => p.hostPort !== undefined)))
        report("hostPort is allowed only for allow-listed system components (Cilium, Spegel)");
    }
  },
};

export const poolPlacement: StackValidationPolicy = {
  name: "lb-pool-placement",
  description:
    "The cluster's LoadBalancer pools lie wholly inside the node subnet (announced by L2) or wholly outside it (BGP only), clear of node IPs, the VIP and the gateway.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateStack: (args, report) => {
    const { facts } = args.getConfig<FactsConfig>();
    const pools: Array<{ urn?: string; label: string; range: Ipv4Range }> = [
      { label: `${facts.pool.start}-${facts.pool.end}`, range: ipRange(facts.pool.start, facts.pool.end) },
    ];
    for (const r of args.resources.filter((x) => x.type === "kubernetes:cilium.io/v2:CiliumLoadBalancerIPPool")) {
      // `spec.cidrs` was renamed `blocks` in Cilium 1.15 and removed in 1.16 (cilium/cilium#33151, issue #28590);
      // pkg/k8s/apis/cilium.io/client/crds/v2/ciliumloadbalancerippools.yaml has no `cidrs` in any served
      // version since, so the API server prunes it and the pool would serve none of those addresses.
      const legacy = get(r.props, "spec.cidrs");
      if (legacy !== undefined && legacy !== null)
        report(
          `pool ${r.name} sets spec.cidrs, a field Cilium removed in 1.16: the pinned Cilium's CRD has no such field, so the API server prunes it and those addresses are never served; put them in spec.blocks`,
          r.urn,
        );
      for (const block of (get(r.props, "spec.blocks") as Props[] | undefined) ?? []) {
        // A range, or a lone start: one address (Cilium's LB IPAM docs, "CIDRs, Ranges and reserved IPs").
        if (typeof block.start === "string") {
          const stop = typeof block.stop === "string" ? block.stop : block.start;
          const label = typeof block.stop === "string" ? `${block.start}-${block.stop}` : block.start;
          pools.push({ urn: r.urn, label, range: ipRange(block.start, stop) });
        }
        if (typeof block.cidr === "string") pools.push({ urn: r.urn, label: block.cidr, range: cidrRange(block.cidr) });
      }
    }
    const subnet = cidrRange(facts.nodeSubnet);
    const reserved = [
      ...facts.nodeIps.map((ip) => ["node", ip] as const),
      ["VIP", facts.vip] as const,
      ["gateway", facts.gateway] as const,
    ];
    for (const pool of pools) {
      // Across the boundary neither L2 (hosts ARP only for on-link addresses) nor BGP alone serves every address.
      // (The network and broadcast addresses are never usable, as validation says too.)
      if (!contains(hostRange(facts.nodeSubnet), pool.range) && overlaps(subnet, pool.range))
        report(
          `pool ${pool.label} straddles the node subnet ${facts.nodeSubnet} or takes its network or broadcast address: put it wholly inside (L2) or wholly outside (BGP)`,
          pool.urn,
        );
      for (const [what, ip] of reserved)
        if (contains(pool.range, single(ip))) report(`pool ${pool.label} contains ${ip}, the ${what}`, pool.urn);
    }
  },
};

export const publicDnsIsPublic: ResourceValidationPolicy = {
  name: "public-dns-no-private",
  description: "Public DNS (Cloudflare) never publishes private addresses, and public application records are proxied.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "cloudflare:index/dnsRecord:DnsRecord") return;
    const type = String(args.props.type);
    const content = String(args.props.content);
    // Cloudflare's DnsRecord keeps an A or AAAA record's address in `content` (@pulumi/cloudflare 6.22.1 dnsRecord.d.ts).
    const kind = isIpv4(content) ? privateKind(content) : privateKind6(content);
    if ((type === "A" || type === "AAAA") && kind) report(`${args.props.name} publishes ${content}, a ${kind} address`);
    if (["A", "AAAA", "CNAME"].includes(type) && args.props.proxied !== true)
      report(`${args.props.name} is a public application record and must be proxied`);
  },
};

export const talosApiThroughEndpoints: ResourceValidationPolicy = {
  name: "talos-api-endpoints",
  description: "The Talos machine API is reached only at the configured nodes: no wildcard or public endpoint.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateResource: (args, report) => {
    if (!args.type.startsWith("talos:machine/") && !args.type.startsWith("talos:cluster/")) return;
    const { facts } = args.getConfig<FactsConfig>();
    for (const key of ["node", "endpoint"]) {
      const value = args.props[key];
      if (typeof value !== "string") continue;
      if (!isIpv4(value) || !privateKind(value))
        report(`${key} ${value} is not a private address: the Talos API must not be reached over a public or wildcard endpoint`);
      else if (!facts.nodeIps.includes(value)) report(`${key} ${value} is not one of the stack's nodes`);
    }
  },
};

export const ciliumUsesKubePrism: StackValidationPolicy = {
  name: "cilium-api-server-access",
  description:
    "Cilium's k8sServiceHost/Port point at KubePrism (127.0.0.1 and the port the Talos patches give it) while KubePrism is on, or at the cluster endpoint when the stack chose it; never at a KubePrism a node has switched off.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateStack: (args, report) => {
    const { facts } = args.getConfig<FactsConfig>();
    const cilium = args.resources.find((r) => r.type === helmRelease && releaseName(r) === "cilium");
    if (!cilium) return;
    const host = String(get(cilium.props.values, "k8sServiceHost"));
    const port = Number(get(cilium.props.values, "k8sServicePort"));
    const at = `${host}:${port}`;
    if (facts.apiServerAccess === "endpoint") {
      const endpoint = `${facts.endpoint.host}:${facts.endpoint.port}`;
      if (at !== endpoint)
        report(`Cilium reaches the API server at ${at}, but the stack's apiServerAccess is endpoint (${endpoint})`, cilium.urn);
      return;
    }
    for (const apply of args.resources.filter((r) => r.type === talosApply)) {
      const docs = talosPatches(apply.props);
      // KubePrism is on unless a patch turns it off: Talos' generated config enables it since 1.6
      // (siderolabs/talos pkg/machinery/config/generate/init.go, `VersionContract.KubePrismEnabled`).
      if (patched(docs, "machine.features.kubePrism.enabled") === false) {
        report(
          `KubePrism is off on this node, but Cilium reaches the API server through it (${at}); enable it or use apiServerAccess: endpoint`,
          apply.urn,
        );
        continue;
      }
      const prismPort = Number(patched(docs, "machine.features.kubePrism.port") ?? kubePrismDefaultPort);
      if (!["127.0.0.1", "localhost"].includes(host) || port !== prismPort)
        report(
          `Cilium's k8sServiceHost/Port is ${at}, but KubePrism is on (port ${prismPort}): it must be 127.0.0.1:${prismPort}`,
          apply.urn,
        );
    }
  },
};

export const ciliumMasqueradeWithoutHostDnsForwarding: StackValidationPolicy = {
  name: "cilium-masquerade-host-dns",
  description:
    "With Cilium's BPF masquerading on, every Talos node sets machine.features.hostDNS.forwardKubeDNSToHost: false (Talos' Cilium guide, known issues), so CoreDNS never forwards to the host resolver.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const cilium = args.resources.find((r) => r.type === helmRelease && releaseName(r) === "cilium");
    if (!cilium || !on(get(cilium.props.values, "bpf.masquerade"))) return;
    for (const apply of args.resources.filter((r) => r.type === talosApply)) {
      const docs = talosPatches(apply.props);
      if (patched(docs, "machine.features.hostDNS.enabled") === false) continue;
      // Talos' generated config turns forwarding on since 1.8 (pkg/machinery/config/generate/init.go,
      // `VersionContract.HostDNSForwardKubeDNSToHost`): only an explicit false in a patch turns it off.
      const forward = patched(docs, "machine.features.hostDNS.forwardKubeDNSToHost");
      if (forward !== false)
        report(
          `Cilium's bpf.masquerade is on, so this node must set machine.features.hostDNS.forwardKubeDNSToHost: false (it is ${forward === undefined ? "unset, which Talos turns on" : String(forward)})`,
          apply.urn,
        );
    }
  },
};

export const networkPolicies = [
  ciliumReplacesKubeProxy,
  talosHandsNetworkToCilium,
  ciliumAndTalosAgree,
  ciliumUsesKubePrism,
  ciliumMasqueradeWithoutHostDnsForwarding,
  namespacesDenyByDefault,
  loadBalancersFromOwnPool,
  poolPlacement,
  publicDnsIsPublic,
  talosApiThroughEndpoints,
];
