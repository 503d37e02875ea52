import * as fs from "fs";
import * as path from "path";
import { defaults } from "./defaults";
import { cidrRange, isIpv4Cidr, numberToIp, overlaps, type Ipv4Range } from "../lib/ipv4";
import { listStacks, projectName, readStackFile } from "./stackFile";

/**
 * `npm run new-stack -- <name> [--id N]`: writes a commented `Pulumi.<name>.yaml` for someone else's
 * cluster. What this program can choose safely it chooses (a free cluster id, pod and service CIDRs
 * clear of every other stack, the CoreDNS address); what only the user knows is a `<placeholder>`
 * that validation names, file and key, until it is replaced.
 */

/** What the other stack files already claim: names, ids, address ranges (read raw: a half-filled template counts too). */
export interface Claims {
  readonly names: ReadonlySet<string>;
  readonly ids: ReadonlySet<number>;
  readonly ranges: readonly Ipv4Range[];
}

export function claimsOf(projectDir: string): Claims {
  const names = new Set<string>();
  const ids = new Set<number>();
  const ranges: Ipv4Range[] = [];
  for (const stack of listStacks(projectDir)) {
    names.add(stack);
    // A file the YAML parser refuses stops here, with its file, line and key (readStackFile).
    const cluster = readStackFile(projectDir, stack).config[defaults.configKey] as
      { name?: unknown; id?: unknown; network?: Record<string, unknown> } | undefined;
    if (typeof cluster?.name === "string") names.add(cluster.name);
    if (typeof cluster?.id === "number") ids.add(cluster.id);
    for (const key of ["podCidr", "serviceCidr", "nodeSubnet"]) {
      const value = cluster?.network?.[key];
      if (typeof value === "string" && isIpv4Cidr(value)) ranges.push(cidrRange(value));
    }
  }
  return { names, ids, ranges };
}

export interface NewStackChoice {
  readonly name: string;
  readonly id: number;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly corednsIp: string;
}

const rfc1123 = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Picks the free values, or says why the request clashes with the existing stacks. */
export function chooseNewStack(name: string, claims: Claims, requestedId?: number): NewStackChoice {
  if (!rfc1123.test(name))
    throw new Error(`stack name ${name} must be an RFC 1123 label (lower-case letters, digits, '-'): it is the cluster name`);
  if (claims.names.has(name)) throw new Error(`a stack or cluster named ${name} already exists`);
  if (requestedId !== undefined) {
    if (!Number.isInteger(requestedId) || requestedId < 1 || requestedId > 255)
      throw new Error(`--id ${requestedId}: a cluster id is 1–255`);
    if (claims.ids.has(requestedId)) throw new Error(`--id ${requestedId} is already another cluster's id (ClusterMesh needs them unique)`);
  }
  const id = requestedId ?? firstFree(claims.ids);
  // Pod and service networks as /16s of 10.0.0.0/8, counting down from 10.255: clear of every
  // other stack's pods, services and node subnet, as ClusterMesh requires.
  const taken = [...claims.ranges];
  const free: string[] = [];
  for (let octet = 255; octet >= 16 && free.length < 2; octet--) {
    const cidr = `10.${octet}.0.0/16`;
    if (!taken.some((r) => overlaps(r, cidrRange(cidr)))) {
      free.push(cidr);
      taken.push(cidrRange(cidr));
    }
  }
  const [podCidr, serviceCidr] = free;
  if (!podCidr || !serviceCidr) throw new Error("no free /16 left in 10.0.0.0/8 for the pod and service networks");
  // The first service address belongs to the `kubernetes` Service; CoreDNS takes the 10th, as kubeadm does.
  return { name, id, podCidr, serviceCidr, corednsIp: numberToIp(cidrRange(serviceCidr).first + 10) };
}

function firstFree(ids: ReadonlySet<number>): number {
  for (let id = 1; id <= 255; id++) if (!ids.has(id)) return id;
  throw new Error("every cluster id 1–255 is taken");
}

/**
 * The nodes the template starts with: three control planes (etcd keeps quorum through the loss of
 * one) and a worker, each in its own zone label, which topology spread constraints and zone-aware
 * routing read (`topology.kubernetes.io/zone`, a well-known Kubernetes label).
 */
const templateNodes = [
  { suffix: "01", role: "controlplane", zone: "zone-a" },
  { suffix: "02", role: "controlplane", zone: "zone-b" },
  { suffix: "03", role: "controlplane", zone: "zone-c" },
  { suffix: "04", role: "worker", zone: "zone-a" },
] as const;

export function stackTemplate(project: string, c: NewStackChoice): string {
  const nodes = templateNodes
    .map(
      (n) => `      - name: ${c.name}-${n.suffix}
        ip: "<address of ${c.name}-${n.suffix} in nodeSubnet>"
        role: ${n.role}
        nics: { hardwareAddr: "<MAC of ${c.name}-${n.suffix}'s NIC to bond, e.g. aa:bb:cc:dd:ee:ff or a wildcard aa:bb:cc:*>" }
        labels: { topology.kubernetes.io/zone: ${n.zone} } # where the machine stands: rack, room, power feed`,
    )
    .join("\n");
  return `# yaml-language-server: $schema=./stacks/stack.schema.json
# Cluster ${c.name}, written by \`npm run new-stack\`. Replace every <placeholder>; \`npm run plan -- ${c.name}\`
# names each one still left (file and key). docs/configuration.md explains every key.
config:
  ${project}:${defaults.configKey}:
    name: ${c.name}
    id: ${c.id} # ClusterMesh id, unique across stacks (chosen free)
    # domain: example.com # public DNS zone; required with the cloudflare block below
    endpoint:
      host: "<Kubernetes API name; a private DNS record pointing at network.vip>"
    talos:
      schematic:
        # Image Factory customization; boot the machines with the ISO/PXE URLs \`npm run plan -- ${c.name}\` prints.
        extraKernelArgs: []
        officialExtensions: []
      installDisk: { disk: "<install disk, e.g. /dev/nvme0n1>" }
      nameservers: ["<DNS server the nodes use, e.g. 192.168.1.1>"]
    network:
      nodeSubnet: "<the nodes' subnet, e.g. 192.168.1.0/24>"
      gateway: "<default gateway in that subnet>"
      vip: "<free address in that subnet for the Kubernetes API>"
      podCidr: ${c.podCidr} # chosen clear of every other stack
      serviceCidr: ${c.serviceCidr}
    nodes:
      # The first node must be a control plane (it bootstraps etcd); keep the number of control planes odd.
      # Fewer machines: delete the worker, or keep one control plane (workloads run on control planes too).
${nodes}
    cilium:
      # Inside nodeSubnet, Cilium answers ARP for these addresses (L2); wholly outside it, only BGP announces them.
      loadBalancerPool: { start: "<first LoadBalancer address>", end: "<last LoadBalancer address>" }
      gatewayIp: "<LoadBalancer address for the external Gateway, inside the pool>"
      # Required when the pool lies outside nodeSubnet (BGP announces it):
      # bgp: { localAsn: 64512, peerAddress: <your router>, peerAsn: <your router's ASN> }
      # Required with clustermesh (this cluster meshed with other stacks' clusters):
      # clustermeshIp: <LoadBalancer address for the ClusterMesh API, inside the pool>
      # clustermesh: { peers: [<other cluster>] }
    coredns:
      clusterIp: ${c.corednsIp}
    certManager:
      email: "<ACME account e-mail>"
    flux:
      url: "<ssh://git@github.com/you/your-gitops-repo.git>"
      auth:
        type: ssh
        privateKey: "<op://vault/item/field of the deploy key, or config:KEY naming a secure: value>"
        knownHosts: "<the Git host's SSH host key line, e.g. from ssh-keyscan github.com>"
    # Optional: external-secrets with a 1Password store; the write-back of talosconfig/kubeconfig;
    # Cloudflare tunnel, DNS and tokens (needs domain above). Leave a block out to skip it.
    # externalSecrets: { vault: <vault>, serviceAccountToken: op://<vault>/<item>/<field> }
    # onePassword: { writeBack: { vault: <vault> } }
    # cloudflare: { accountId: <id>, zoneId: <id>, apiToken: op://<vault>/<item>/<field> }
`;
}

export function main(argv: readonly string[], projectDir = path.resolve(__dirname, "..")): number {
  const idAt = argv.indexOf("--id");
  const name = argv.find((a, i) => !a.startsWith("--") && (idAt < 0 || i !== idAt + 1));
  // `--id` last: its value is missing.
  if (!name || argv.at(-1) === "--id") {
    process.stderr.write("usage: npm run new-stack -- <name> [--id <1-255>]\n");
    return 2;
  }
  const file = path.join(projectDir, `Pulumi.${name}.yaml`);
  try {
    if (fs.existsSync(file)) throw new Error(`Pulumi.${name}.yaml already exists`);
    const choice = chooseNewStack(name, claimsOf(projectDir), idAt >= 0 ? Number(argv[idAt + 1]) : undefined);
    fs.writeFileSync(file, stackTemplate(projectName(projectDir), choice));
    process.stdout.write(
      `wrote Pulumi.${name}.yaml (cluster id ${choice.id}, pods ${choice.podCidr}, services ${choice.serviceCidr}).\n` +
        `Next: replace its <placeholders>, then \`npm run plan -- ${name}\` until it plans cleanly, \`npm run schema\`, and \`pulumi stack init ${name}\`.\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`new-stack: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
