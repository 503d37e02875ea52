import { z } from "zod";
import { defaults } from "./defaults";
import { ipv4Pattern, isIpv4Cidr } from "../lib/ipv4";

/**
 * The shape of one cluster stack (`config: <project>:cluster` in `Pulumi.<stack>.yaml`).
 * Field-level rules live here; rules that relate several fields live in `rules.ts`.
 * Messages never repeat a credential field's value: it could be a pasted secret.
 */

const rfc1123Label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const rfc1123Subdomain = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

const label = z.string().regex(rfc1123Label, { message: "must be an RFC 1123 label: lower-case letters, digits and '-', at most 63" });
const dnsName = z.string().regex(rfc1123Subdomain, { message: "must be an RFC 1123 DNS name (lower case)" });
const ipv4 = z.string().regex(ipv4Pattern, { message: "must be an IPv4 address such as 10.25.11.11" });
const cidr = z
  .string()
  .refine(isIpv4Cidr, { message: "must be an IPv4 network in CIDR form with no host bits set, such as 10.244.0.0/16" });
const version = z.string().regex(/^v\d+\.\d+\.\d+$/, { message: "must be a version such as v1.11.6" });
const asn = z.number().int().min(1).max(4294967294);

/**
 * A credential: an `op://vault/item/[section/]field` reference resolved from 1Password at deploy
 * time, or `config:<key>` naming a top-level `secure:` config value of the same stack.
 * Anything else would be a plaintext credential in Git, so it is refused.
 */
export const secretRefPattern =
  /^(op:\/\/[A-Za-z0-9_.\- ]+\/[A-Za-z0-9_.\- ]+(\/[A-Za-z0-9_.\- ]+)?\/[A-Za-z0-9_.\- ]+|config:[A-Za-z][A-Za-z0-9_-]*)$/;
export const secretRef = z
  .string()
  .regex(secretRefPattern, {
    message: "must be an op://vault/item/field reference or config:<key> naming a secure: value (plaintext credentials are refused)",
  })
  .describe("credential: op://vault/item/[section/]field or config:<key> of a secure: value");

const diskSelection = z.union([
  z.strictObject({ disk: z.string().regex(/^\/dev\/[A-Za-z0-9/_-]+$/, { message: "must be a device path such as /dev/nvme0n1" }) }),
  z.strictObject({
    diskSelector: z
      .strictObject({
        model: z.string().optional(),
        serial: z.string().optional(),
        wwid: z.string().optional(),
        size: z.string().optional(),
        type: z.enum(["ssd", "hdd", "nvme", "sd"]).optional(),
        busPath: z.string().optional(),
      })
      .refine((s) => Object.values(s).some((v) => v !== undefined), { message: "needs at least one selector field" }),
  }),
]);

const schematic = z.strictObject({
  extraKernelArgs: z.array(z.string().min(1)).default([]),
  officialExtensions: z
    .array(z.string().regex(/^siderolabs\/[a-z0-9-]+$/, { message: "must name an official extension such as siderolabs/intel-ucode" }))
    .default([]),
});

const taint = z.strictObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});

const node = z.strictObject({
  name: label.describe("hostname, RFC 1123"),
  ip: ipv4.describe("static address on the bond, inside network.nodeSubnet"),
  role: z.enum(["controlplane", "worker"]).describe("control planes run etcd; the first node must be one"),
  /** The bond's member NICs, selected by (wildcard) hardware address and optional driver. */
  nics: z.strictObject({
    hardwareAddr: z
      .string()
      .regex(/^([0-9a-f*]{1,2}:){1,5}[0-9a-f*]{1,2}$|^\*$/, { message: "must be a lower-case MAC address, '*' wildcards allowed" }),
    driver: z.string().min(1).optional(),
  }),
  installDisk: diskSelection.optional().describe("overrides talos.installDisk for this node"),
  schematic: schematic.optional().describe("overrides talos.schematic for this node"),
  labels: z.record(z.string().min(1), z.string()).default({}).describe("extra Kubernetes node labels"),
  taints: z.array(taint).default([]).describe("Kubernetes node taints"),
});

const clusterShape = z.strictObject({
  name: label.describe("cluster name; also the Cilium cluster name"),
  id: z.number().int().min(1).max(255).describe("Cilium ClusterMesh id, unique across stacks"),
  domain: dnsName
    .optional()
    .describe(
      "public DNS zone, e.g. monosense.io; required with cloudflare (tunnel hostnames, DNS records, cert-manager DNS-01 issuers), else optional",
    ),
  endpoint: z.strictObject({
    host: dnsName.describe("Kubernetes API DNS name (resolves to the VIP)"),
    port: z.number().int().min(1).max(65535).default(defaults.apiServerPort),
  }),
  talos: z.strictObject({
    version: version.optional().describe("overrides stacks/versions.ts, to stage an upgrade"),
    kubernetesVersion: version.optional().describe("overrides stacks/versions.ts, to stage an upgrade"),
    schematic: schematic.describe("Image Factory schematic: kernel arguments and official extensions"),
    installDisk: diskSelection.describe("install disk: { disk: /dev/... } or { diskSelector: {...} }"),
    nameservers: z.array(ipv4).min(1).describe("DNS servers of the nodes"),
    timeServers: z
      .array(z.string().min(1))
      .min(1)
      .default([...defaults.timeServers])
      .describe("NTP servers"),
    sysctls: z
      .record(z.string().regex(/^[a-z0-9_.-]+$/), z.string())
      .default({})
      .describe("kernel parameters for every node (values as strings)"),
    allowSchedulingOnControlPlanes: z
      .boolean()
      .default(true)
      .describe("run workloads on control planes (needed when there are no workers); explicit, so adding a worker changes no other node"),
    allowControlPlaneRemoval: z
      .boolean()
      .default(false)
      .describe(
        "control-plane applies are protected; set true and pulumi up once (the engine reads protection from state), then remove the control plane in the next run",
      ),
    rollout: z
      .strictObject({
        maxUnavailableWorkers: z
          .number()
          .int()
          .min(1)
          .default(defaults.rollout.maxUnavailableWorkers)
          .describe("workers updated at once on a config change (control planes always go one by one)"),
        unmanagedPods: z
          .enum(["evict", "refuse"])
          .default(defaults.rollout.unmanagedPods)
          .describe(
            "pods with no controller on a node being drained (OS upgrade, removal): evict them as talosctl upgrade does (kubectl drain --force), or refuse the drain",
          ),
      })
      .default({ ...defaults.rollout }),
  }),
  network: z.strictObject({
    nodeSubnet: cidr.describe("the nodes' L2 network; node IPs, VIP, gateway and pool live in it"),
    gateway: ipv4.describe("default route of the nodes"),
    vip: ipv4.describe("Talos layer-2 VIP shared by the control planes"),
    podCidr: cidr.describe("pod network; unique across stacks (ClusterMesh)"),
    serviceCidr: cidr.describe("Service network; unique across stacks"),
    mtu: z.number().int().min(1280).max(9216).default(defaults.mtu).describe("MTU of the bond"),
    bond: z
      .strictObject({
        mode: z.enum(["802.3ad", "active-backup", "balance-rr", "balance-xor", "balance-tlb", "balance-alb"]).default(defaults.bond.mode),
        xmitHashPolicy: z.enum(["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4"]).default(defaults.bond.xmitHashPolicy),
        lacpRate: z.enum(["slow", "fast"]).default(defaults.bond.lacpRate),
        miimon: z.number().int().min(0).default(defaults.bond.miimon),
      })
      .default({ ...defaults.bond }),
    vlans: z
      .array(
        z.strictObject({
          id: z.number().int().min(1).max(4094).describe("VLAN id on the bond"),
          mtu: z.number().int().min(1280).max(9216).optional(),
          routeMetric: z.number().int().min(0).optional(),
        }),
      )
      .default([]),
  }),
  nodes: z.array(node).min(1),
  cilium: z.strictObject({
    /** How Cilium reaches the API server: KubePrism on every node (default) or the API DNS name. */
    apiServerAccess: z.enum(["kubeprism", "endpoint"]).default("kubeprism"),
    loadBalancerPool: z.strictObject({ start: ipv4, end: ipv4 }),
    clustermeshIp: ipv4
      .optional()
      .describe("ClusterMesh API server LoadBalancer address, inside the pool; required with cilium.clustermesh, else optional"),
    gatewayIp: ipv4.describe("external Gateway LoadBalancer address, inside the pool"),
    bgp: z
      .strictObject({ localAsn: asn, peerAddress: ipv4, peerAsn: asn })
      .optional()
      .describe(
        "BGP peering for LoadBalancer addresses; required when loadBalancerPool lies outside the node subnet (BGP announces it), optional inside it (L2 announces it)",
      ),
    clustermesh: z
      .strictObject({
        peers: z
          .array(label)
          .min(1)
          .describe("the other clusters of the mesh, by cluster.name; each must list this cluster too (stacks/mesh.ts)"),
        caFrom: label
          .optional()
          .describe("the member whose stack owns the shared ClusterMesh CA (read through a StackReference); left out on that owner"),
        caGeneration: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe("CA owner only, default 1: raise it to rotate the shared CA on purpose (docs/operations.md)"),
      })
      .optional()
      .describe("Cilium ClusterMesh membership; leave out for a cluster that meshes with no other"),
  }),
  coredns: z.strictObject({
    clusterIp: ipv4.describe("CoreDNS Service address; inside the service CIDR, not its first address"),
    replicas: z.number().int().min(1).max(10).default(defaults.corednsReplicas).describe("CoreDNS replicas"),
  }),
  spegel: z
    .strictObject({ enabled: z.boolean().default(true).describe("peer-to-peer image mirror on every node") })
    .default({ enabled: true }),
  certManager: z.strictObject({ email: z.email({ message: "must be an e-mail address (Let's Encrypt account)" }) }),
  externalSecrets: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** 1Password vault the in-cluster ClusterSecretStore reads. */
      vault: z.string().min(1),
      /** A read-only service-account token for that vault, distinct from the deploy token. */
      serviceAccountToken: secretRef,
    })
    .optional()
    .describe("external-secrets with a 1Password ClusterSecretStore; leave out to skip it"),
  flux: z.strictObject({
    url: z
      .string()
      .regex(/^(ssh:\/\/[^\s]+|https:\/\/[^\s]+)$/, { message: "must be an ssh:// or https:// Git URL" })
      .describe("GitOps repository: ssh:// for a deploy key, https:// for a GitHub App"),
    branch: z.string().min(1).default(defaults.fluxBranch).describe("branch Flux follows"),
    path: z
      .string()
      .regex(/^[A-Za-z0-9._/-]+$/)
      .optional()
      .describe("defaults to kubernetes/clusters/<name>"),
    auth: z.discriminatedUnion("type", [
      z.strictObject({ type: z.literal("ssh"), privateKey: secretRef, knownHosts: z.string().min(1) }),
      z.strictObject({
        type: z.literal("githubApp"),
        appId: z.string().regex(/^\d+$/),
        installationId: z.string().regex(/^\d+$/),
        privateKey: secretRef,
      }),
    ]),
  }),
  onePassword: z
    .strictObject({
      /** Save talosconfig and kubeconfig to this vault after each deploy. */
      writeBack: z.strictObject({
        enabled: z.boolean().default(true),
        vault: z.string().min(1),
        item: z.string().min(1).optional().describe("defaults to <name>-talos"),
      }),
    })
    .optional(),
  cloudflare: z
    .strictObject({
      accountId: z.string().regex(/^[0-9a-f]{32}$/, { message: "must be a 32-character Cloudflare account id" }),
      zoneId: z.string().regex(/^[0-9a-f]{32}$/, { message: "must be a 32-character Cloudflare zone id" }),
      /** Account-level token the Pulumi provider uses; the in-cluster tokens are created scoped. */
      apiToken: secretRef,
      tunnelName: label.optional().describe("defaults to <name>-tunnel"),
      anchor: dnsName
        .optional()
        .describe("the proxied anchor record external-dns points at; defaults to external.<domain>; unique per zone"),
      ingressHostname: z
        .string()
        .regex(/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "must be a host name, optionally starting with *." })
        .optional()
        .describe("names the tunnel routes to the Gateway; defaults to *.<domain>; unique per zone"),
      records: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            type: z.enum(["A", "AAAA", "CNAME", "TXT"]),
            content: z.string().min(1),
            proxied: z.boolean().default(true),
            ttl: z.number().int().min(1).default(defaults.dnsTtl),
          }),
        )
        .default([]),
    })
    .optional(),
});

export const clusterSchema = clusterShape;
/** A parsed stack, defaults applied, before the cross-field rules have run. */
export type ParsedCluster = z.output<typeof clusterSchema>;
export type ClusterNode = ParsedCluster["nodes"][number];
export type DiskSelection = z.output<typeof diskSelection>;
export type Schematic = z.output<typeof schematic>;
