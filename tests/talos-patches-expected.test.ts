import { nodePatches } from "../components/talos/patches";
import type { ClusterNode } from "../stacks/schema";
import { firstControlPlane, load } from "./talos-patches-helpers";

/** Every patch of infra-01 (control plane) and of a worker built from it, in full, under each contract. */

const cluster = load("infra");
const cp = firstControlPlane(cluster);
const worker: ClusterNode = { ...cp, name: "infra-w1", ip: "10.25.11.40", role: "worker", labels: {}, taints: [] };

const install = {
  name: "install",
  documents: [
    {
      machine: {
        install: { diskSelector: { model: "Samsung SSD 860" }, image: "factory.talos.dev/metal-installer/abc123:v1.11.6", wipe: false },
      },
    },
  ],
};
const kubernetesNetwork = {
  name: "kubernetes-network",
  documents: [
    {
      cluster: {
        network: { podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.245.0.0/16"], cni: { name: "none" } },
        proxy: { disabled: true },
        coreDNS: { disabled: true },
      },
    },
  ],
};
const controlPlane = {
  name: "control-plane",
  documents: [
    {
      cluster: {
        apiServer: { certSANs: ["infra-k8s.monosense.io", "10.25.11.10"] },
        etcd: { advertisedSubnets: ["10.25.11.0/24"] },
        allowSchedulingOnControlPlanes: true,
      },
    },
  ],
};
const kubelet = {
  name: "kubelet-and-features",
  documents: [
    {
      machine: {
        kubelet: { nodeIP: { validSubnets: ["10.25.11.0/24"] }, clusterDNS: ["10.245.0.10"] },
        features: { kubePrism: { enabled: true, port: 7445 }, hostDNS: { enabled: true, forwardKubeDNSToHost: false } },
      },
    },
  ],
};
const labels = (zone: string) => ({
  name: "labels-and-taints",
  documents: [
    { machine: { nodeLabels: { "topology.kubernetes.io/region": "infra", "topology.kubernetes.io/zone": zone, cluster: "infra" } } },
  ],
});
const sysctls = {
  "fs.inotify.max_user_watches": "1048576",
  "fs.inotify.max_user_instances": "8192",
  "net.core.default_qdisc": "fq",
  "net.core.rmem_max": "67108864",
  "net.core.wmem_max": "67108864",
  "net.ipv4.tcp_congestion_control": "bbr",
  "net.ipv4.tcp_fastopen": "3",
  "net.ipv4.tcp_mtu_probing": "1",
  "net.ipv4.tcp_rmem": "4096 87380 33554432",
  "net.ipv4.tcp_wmem": "4096 65536 33554432",
  "net.ipv4.tcp_window_scaling": "1",
  "sunrpc.tcp_slot_table_entries": "128",
  "sunrpc.tcp_max_slot_table_entries": "128",
  "user.max_user_namespaces": "11255",
  "vm.nr_hugepages": "1024",
};
const spegel = {
  name: "spegel-containerd",
  documents: [
    {
      machine: {
        files: [
          {
            op: "create",
            path: "/etc/cri/conf.d/20-customization.part",
            content: '[plugins."io.containerd.cri.v1.images"]\n  discard_unpacked_layers = false\n',
          },
        ],
      },
    },
  ],
};

function legacyNetwork(hostname: string, ip: string, vip: boolean) {
  return {
    name: "network",
    documents: [
      {
        machine: {
          network: {
            hostname,
            interfaces: [
              {
                interface: "bond0",
                bond: {
                  deviceSelectors: [{ hardwareAddr: "f8:f2:1e:20:57:*", driver: "i40e" }],
                  mode: "802.3ad",
                  xmitHashPolicy: "layer3+4",
                  lacpRate: "fast",
                  miimon: 100,
                },
                dhcp: false,
                mtu: 9000,
                addresses: [`${ip}/24`],
                routes: [{ network: "0.0.0.0/0", gateway: "10.25.11.1" }],
                ...(vip ? { vip: { ip: "10.25.11.10" } } : {}),
                vlans: [{ vlanId: 2512, mtu: 1500, dhcp: false }],
              },
            ],
            nameservers: ["10.25.10.30"],
            disableSearchDomain: true,
          },
        },
      },
    ],
  };
}

const hex = "0123456789abcdef".split("");

/**
 * The bond's members by wildcard MAC: 1.12 needs sixteen fixed aliases (one per last hex digit of the
 * MAC; an alias matching two links is skipped), 1.13 one pattern alias `bond0-port%d` that names
 * every matched NIC in MAC order, so a node's network patch has 16 LinkAliasConfig documents on 1.12
 * and 1 on 1.13 (22 and 7 documents in all, with hostname, bond, VLAN, VIP and resolver).
 */
const aliasDocs = {
  "v1.12": hex.map((d) => ({
    apiVersion: "v1alpha1",
    kind: "LinkAliasConfig",
    name: `bond0-port${d}`,
    selector: {
      match: `glob("f8:f2:1e:20:57:*", mac(link.permanent_addr)) && glob("*${d}", mac(link.permanent_addr)) && link.driver == "i40e"`,
    },
  })),
  "v1.13": [
    {
      apiVersion: "v1alpha1",
      kind: "LinkAliasConfig",
      name: "bond0-port%d",
      selector: { match: `glob("f8:f2:1e:20:57:*", mac(link.permanent_addr)) && link.driver == "i40e"` },
    },
  ],
};
const bondLinks = { "v1.12": hex.map((d) => `bond0-port${d}`), "v1.13": hex.map((_, i) => `bond0-port${i}`) };

function documentNetwork(hostname: string, ip: string, vip: boolean, contract: "v1.12" | "v1.13") {
  return {
    name: "network",
    documents: [
      { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname },
      ...aliasDocs[contract],
      {
        apiVersion: "v1alpha1",
        kind: "BondConfig",
        name: "bond0",
        links: bondLinks[contract],
        bondMode: "802.3ad",
        xmitHashPolicy: "layer3+4",
        lacpRate: "fast",
        miimon: 100,
        mtu: 9000,
        addresses: [{ address: `${ip}/24` }],
        routes: [{ gateway: "10.25.11.1" }],
      },
      { apiVersion: "v1alpha1", kind: "VLANConfig", name: "bond0.2512", vlanID: 2512, parent: "bond0", mtu: 1500 },
      ...(vip ? [{ apiVersion: "v1alpha1", kind: "Layer2VIPConfig", name: "10.25.11.10", link: "bond0" }] : []),
      {
        apiVersion: "v1alpha1",
        kind: "ResolverConfig",
        nameservers: [{ address: "10.25.10.30" }],
        searchDomains: { disableDefault: true },
      },
    ],
  };
}

const legacyTime = {
  name: "time-and-sysctls",
  documents: [{ machine: { time: { disabled: false, servers: ["time.cloudflare.com"] }, sysctls } }],
};
const documentTime = {
  name: "time-and-sysctls",
  documents: [
    { machine: { sysctls } },
    { apiVersion: "v1alpha1", kind: "TimeSyncConfig", enabled: true, ntp: { servers: ["time.cloudflare.com"] } },
  ],
};

const expected: Record<string, { controlplane: unknown[]; worker: unknown[] }> = {
  "v1.11": {
    controlplane: [
      install,
      legacyNetwork("infra-01", "10.25.11.11", true),
      kubernetesNetwork,
      controlPlane,
      kubelet,
      labels("m"),
      legacyTime,
      spegel,
    ],
    worker: [install, legacyNetwork("infra-w1", "10.25.11.40", false), kubernetesNetwork, kubelet, labels("w"), legacyTime, spegel],
  },
  ...Object.fromEntries(
    (["v1.12", "v1.13"] as const).map((contract) => [
      contract,
      {
        controlplane: [
          install,
          documentNetwork("infra-01", "10.25.11.11", true, contract),
          kubernetesNetwork,
          controlPlane,
          kubelet,
          labels("m"),
          documentTime,
          spegel,
        ],
        worker: [
          install,
          documentNetwork("infra-w1", "10.25.11.40", false, contract),
          kubernetesNetwork,
          kubelet,
          labels("w"),
          documentTime,
          spegel,
        ],
      },
    ]),
  ),
};

describe.each(["v1.11", "v1.12", "v1.13"] as const)("%s: full patches", (contract) => {
  it("of a node: LinkAliasConfig documents for a bond matched by a MAC wildcard, the fewest the contract allows", () => {
    const network = nodePatches(cluster, cp, "abc123", contract).find((p) => p.name === "network")!;
    const aliases = network.documents.filter((d) => (d as { kind?: string }).kind === "LinkAliasConfig");
    expect(aliases).toHaveLength({ "v1.11": 0, "v1.12": 16, "v1.13": 1 }[contract]);
  });
  it("of a control plane", () => {
    expect(nodePatches(cluster, cp, "abc123", contract)).toStrictEqual(expected[contract]!.controlplane);
  });
  it("of a worker", () => {
    expect(nodePatches(cluster, worker, "abc123", contract)).toStrictEqual(expected[contract]!.worker);
  });
});
