import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import type { StackCluster } from "../stacks/mesh";
import { clusterFromStackFile, listStacks, readStackFile } from "../stacks/stackFile";
import { fixtureDir, type RawCluster } from "./support";

/** The cluster value of a fixture stack file, parsed, to build variants from. */
export function rawFixture(stack: string): RawCluster {
  const doc = parse(fs.readFileSync(path.join(fixtureDir, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, RawCluster> };
  return doc.config["talos-gitops:cluster"];
}

/**
 * A project folder in the temp dir: the fixture stacks (Pulumi.yaml included), each cluster rewritten
 * by `edit[stack]`, plus `extra` stack files (stack → cluster value).
 */
export function meshProject(
  edit: Readonly<Record<string, (cluster: RawCluster) => void>> = {},
  extra: Readonly<Record<string, RawCluster>> = {},
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-"));
  fs.copyFileSync(path.join(fixtureDir, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  const clusters: Record<string, RawCluster> = {};
  for (const stack of listStacks(fixtureDir)) {
    const cluster = rawFixture(stack);
    edit[stack]?.(cluster);
    clusters[stack] = cluster;
  }
  Object.assign(clusters, extra);
  for (const [stack, cluster] of Object.entries(clusters)) {
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stringify({ config: { "talos-gitops:cluster": cluster } }));
  }
  return dir;
}

/** A third cluster on the same subnet, meshed with infra and apps, CA from infra. */
export function edgeCluster(): RawCluster {
  const edge = rawFixture("apps");
  Object.assign(edge, { name: "edge", id: 3 });
  edge.endpoint.host = "edge-k8s.monosense.io";
  Object.assign(edge.network, { vip: "10.25.11.30", podCidr: "10.248.0.0/16", serviceCidr: "10.249.0.0/16" });
  edge.nodes = [{ name: "edge-01", ip: "10.25.11.17", role: "controlplane", nics: { hardwareAddr: "aa:bb:cc:dd:ee:*" } }];
  Object.assign(edge.cilium, {
    loadBalancerPool: { start: "10.25.11.140", end: "10.25.11.159" },
    clustermeshIp: "10.25.11.140",
    gatewayIp: "10.25.11.141",
    clustermesh: { peers: ["infra", "apps"], caFrom: "infra" },
  });
  edge.cilium.bgp.localAsn = 64514;
  edge.coredns.clusterIp = "10.249.0.10";
  edge.externalSecrets.serviceAccountToken = "op://Prod/edge-external-secrets/credential";
  Object.assign(edge.cloudflare, { anchor: "external.edge.monosense.io", ingressHostname: "*.edge.monosense.io" });
  return edge;
}

/** Every stack of a project folder, validated (throws on a file that does not validate). */
export function projectStacks(dir: string): StackCluster[] {
  return listStacks(dir).map((s) => ({ file: `Pulumi.${s}.yaml`, cluster: clusterFromStackFile(readStackFile(dir, s)) }));
}
