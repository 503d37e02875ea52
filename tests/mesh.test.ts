import * as fs from "fs";
import { ciliumValues } from "../components/bootstrap/cilium";
import { caOutputs, clustermeshCaSecret } from "../components/clustermesh/clusterMesh";
import { clusterSettings } from "../components/flux/clusterSettings";
import { main as plan } from "../plan/cli";
import { record, stackOutputsOf, type Recording } from "../plan/record/harness";
import { exposedCredentials } from "../plan/report/secrecy";
import { closeSchema, validationErrors, validator } from "../contracts/check";
import { crossStackIssues } from "../stacks/crossStack";
import { meshView } from "../stacks/mesh";
import { versions } from "../stacks/versions";
import { edgeCluster, meshProject, projectStacks } from "./mesh-support";
import { isMeshCa } from "../plan/model/diffCa";
import { fixture, fixtureDir, ofType, readContract, recordFixture } from "./support";

const ownerRef = "organization/talos-gitops/infra";
const certType = "tls:index/selfSignedCert:SelfSignedCert";
const keyType = "tls:index/privateKey:PrivateKey";
/** The mesh CA's resources of a type (the stack has other tls resources: the lifecycle credential). */
const meshCaOf = (r: Recording, type: string) => ofType(r, type).filter(isMeshCa);

type Values = Record<string, unknown> & {
  clustermesh?: { config: { clusters: Array<{ name: string; port: number; ips: string[] }> } };
  ipv4NativeRoutingCIDR?: string;
};

function ciliumOf(r: Recording): { urn: string; dependsOn: readonly string[]; values: Values } {
  const release = ofType(r, "kubernetes:helm.sh/v3:Release").find((x) => x.name === "cilium")!;
  return { urn: release.urn, dependsOn: release.dependsOn, values: (r.plainInputs(release.urn) as { values: Values }).values };
}
const caSecretOf = (r: Recording) => ofType(r, "kubernetes:core/v1:Secret").find((x) => x.name === "cilium-ca")!;
const peersOf = (r: Recording) => ciliumOf(r).values.clustermesh?.config.clusters ?? [];

describe("the fixture mesh: infra owns the CA, apps reads it through a StackReference", () => {
  // A fake CA as the owner's outputs would carry it after `pulumi up`: it must reach apps' Secret, and only there.
  const fakeCa = { cert: "-----BEGIN CERTIFICATE-----fake-mesh-ca-cert", key: "-----BEGIN RSA PRIVATE KEY-----fake-mesh-ca-key-7c1d" };
  let infra: Recording;
  let apps: Recording;
  let appsFromRecordedOwner: Recording;
  beforeAll(async () => {
    infra = await recordFixture({ stack: "infra" });
    if (infra.error) throw infra.error;
    apps = await recordFixture({
      stack: "apps",
      stackReferences: {
        [ownerRef]: { outputs: { [caOutputs.cert]: fakeCa.cert, [caOutputs.key]: fakeCa.key }, secretOutputNames: [caOutputs.key] },
      },
    });
    if (apps.error) throw apps.error;
    appsFromRecordedOwner = await recordFixture({ stack: "apps", stackReferences: { [ownerRef]: stackOutputsOf(infra) } });
    if (appsFromRecordedOwner.error) throw appsFromRecordedOwner.error;
  });

  it("the owner generates the CA once, protected, and exports it (key secret)", () => {
    const [key, cert] = [meshCaOf(infra, keyType), meshCaOf(infra, certType)];
    expect(key.map((k) => [k.name, k.protect])).toEqual([["clustermesh-ca-key-g1", true]]);
    expect(cert.map((c) => [c.name, c.protect])).toEqual([["clustermesh-ca-g1", true]]);
    expect(infra.plainInputs(cert[0]!.urn)).toMatchObject({ isCaCertificate: true, subject: { commonName: "Cilium CA" } });
    expect(cert[0]!.propertyDependencies.privateKeyPem).toEqual([key[0]!.urn]);
    expect(infra.outputSecretPaths).toContain(caOutputs.key);
    expect(infra.outputSecretPaths).not.toContain(caOutputs.cert);
    expect(stackOutputsOf(infra).secretOutputNames).toContain(caOutputs.key);
  });

  it("the member generates no CA and reads the owner's stack by its fully qualified name", () => {
    expect([...meshCaOf(apps, keyType), ...meshCaOf(apps, certType)]).toEqual([]);
    const refs = ofType(apps, "pulumi:pulumi:StackReference");
    expect(refs.map((r) => apps.plainInputs(r.urn))).toEqual([{ name: ownerRef }]);
    expect(ofType(infra, "pulumi:pulumi:StackReference")).toEqual([]);
  });

  it("both graphs write the same CA to kube-system/cilium-ca: the owner's resources, the member's reference to them", () => {
    const [own, member] = [caSecretOf(infra), caSecretOf(apps)];
    for (const [r, s] of [
      [infra, own],
      [apps, member],
    ] as const) {
      expect(r.plainInputs(s.urn)).toMatchObject({ metadata: { name: "cilium-ca", namespace: "kube-system" }, type: "Opaque" });
      expect(s.secretPaths).toEqual(["stringData"]);
    }
    const ownerCa = meshCaOf(infra, certType)[0]!.urn;
    expect(own.dependsOn).toEqual(expect.arrayContaining([ownerCa, meshCaOf(infra, keyType)[0]!.urn]));
    const ref = ofType(apps, "pulumi:pulumi:StackReference")[0]!;
    expect(member.dependsOn).toEqual([ref.urn]);
    // The member's Secret holds exactly what the owner exports, under the keys the chart reads.
    expect(apps.plainInputs(member.urn)).toMatchObject({
      stringData: { [clustermeshCaSecret.certKey]: fakeCa.cert, [clustermeshCaSecret.keyKey]: fakeCa.key },
    });
    // Recorded owner outputs flow through unchanged (offline they are "known after apply").
    const infraOut = infra.plainOutputs() as Record<string, string>;
    expect(appsFromRecordedOwner.plainInputs(caSecretOf(appsFromRecordedOwner).urn)).toMatchObject({
      stringData: { "ca.crt": infraOut[caOutputs.cert], "ca.key": infraOut[caOutputs.key] },
    });
  });

  it("the cilium-ca Secret precedes Cilium in both clusters", () => {
    expect(ciliumOf(infra).dependsOn).toContain(caSecretOf(infra).urn);
    expect(ciliumOf(apps).dependsOn).toContain(caSecretOf(apps).urn);
  });

  it("each cluster's Cilium values carry the other's endpoint and a native-routing CIDR over both pod CIDRs", () => {
    expect(peersOf(infra)).toEqual([{ name: "apps", port: 2379, ips: ["10.25.11.120"] }]);
    expect(peersOf(apps)).toEqual([{ name: "infra", port: 2379, ips: ["10.25.11.100"] }]);
    expect(ciliumOf(infra).values.ipv4NativeRoutingCIDR).toBe("10.244.0.0/14");
    expect(ciliumOf(apps).values.ipv4NativeRoutingCIDR).toBe("10.244.0.0/14");
    expect(ciliumOf(infra).values).toMatchObject({
      clustermesh: {
        useAPIServer: true,
        apiserver: {
          service: { type: "LoadBalancer", annotations: { "lbipam.cilium.io/ips": "10.25.11.100" } },
          tls: { authMode: "cluster", auto: { enabled: true, method: "cronJob" } },
        },
      },
      certgen: { generateCA: false },
      hubble: { tls: { auto: { method: "cronJob" } } },
      l2announcements: { enabled: true },
    });
  });

  it("nothing credential-like leaks: the secrecy walk is clean and the fake key appears in no masked record", () => {
    for (const r of [infra, apps, appsFromRecordedOwner]) expect(exposedCredentials(r)).toEqual([]);
    const everything = JSON.stringify({ resources: apps.resources, invokes: apps.invokes, outputs: apps.outputs, logs: apps.logs });
    expect(everything).not.toContain(fakeCa.key);
    expect(apps.outputs).not.toHaveProperty(caOutputs.key);
  });

  it("an unanswered StackReference reads the outputs as unknown (plan/record/providerModel.ts), not as an error", async () => {
    const r = await recordFixture({ stack: "apps" });
    expect(r.error).toBeUndefined();
    expect(r.plainInputs(caSecretOf(r).urn)).toMatchObject({ stringData: { "ca.crt": "(known after apply)" } });
  });
});

describe("a third cluster joining the mesh", () => {
  let dir: string;
  beforeAll(() => {
    dir = meshProject(
      { infra: (c) => (c.cilium.clustermesh.peers = ["apps", "edge"]), apps: (c) => (c.cilium.clustermesh.peers = ["infra", "edge"]) },
      { edge: edgeCluster() },
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("validates across the three stack files", () => {
    expect(crossStackIssues(projectStacks(dir))).toEqual([]);
  });

  it("changes both existing clusters' Cilium values: the new peer's endpoint and a wider native-routing CIDR", async () => {
    // One at a time: a recording owns the process-wide Pulumi runtime while it runs.
    const before: Recording[] = [];
    const after: Recording[] = [];
    for (const stack of ["infra", "apps"]) {
      before.push(await recordFixture({ stack }));
      after.push(await record({ projectDir: dir, stack }));
    }
    for (const r of after) if (r.error) throw r.error;
    const edge = { name: "edge", port: 2379, ips: ["10.25.11.140"] };
    expect(peersOf(after[0]!)).toEqual([{ name: "apps", port: 2379, ips: ["10.25.11.120"] }, edge]);
    expect(peersOf(after[1]!)).toEqual([edge, { name: "infra", port: 2379, ips: ["10.25.11.100"] }]);
    for (const [b, a] of [0, 1].map((i) => [before[i]!, after[i]!] as const)) {
      expect(ciliumOf(a).values).not.toEqual(ciliumOf(b).values);
      expect(ciliumOf(b).values.ipv4NativeRoutingCIDR).toBe("10.244.0.0/14");
      expect(ciliumOf(a).values.ipv4NativeRoutingCIDR).toBe("10.240.0.0/12");
    }
    const edgeRun = await record({ projectDir: dir, stack: "edge" });
    if (edgeRun.error) throw edgeRun.error;
    expect(peersOf(edgeRun).map((p) => p.name)).toEqual(["apps", "infra"]);
  });

  it("every member's mesh values validate against the Cilium 1.20.0 chart schema", () => {
    const check = validator(
      closeSchema(readContract<object>(`charts/cilium.values.schema.v${versions.charts.cilium}.json`), { overlay: true }),
    );
    const stacks = projectStacks(dir);
    for (const s of stacks) {
      const view = meshView(s, stacks)!;
      expect({ stack: s.file, issues: validationErrors(check, ciliumValues(s.cluster, view)) }).toEqual({ stack: s.file, issues: [] });
    }
  });
});

describe("L2 announcements follow the pool's place", () => {
  it("a pool inside the node subnet is announced by L2 (Cilium value and the Flux tree's setting)", () => {
    const infra = fixture("infra");
    expect(ciliumValues(infra)).toMatchObject({ l2announcements: { enabled: true } });
    expect(clusterSettings(infra)).toMatchObject({ CILIUM_L2_ANNOUNCEMENTS: "true", CILIUM_L2_INTERFACE: "^bond0$" });
  });

  it("a pool outside the node subnet is BGP only", () => {
    const infra = fixture("infra");
    const bgpOnly = {
      ...infra,
      cilium: {
        ...infra.cilium,
        loadBalancerPool: { start: "10.25.50.0", end: "10.25.50.19" },
        clustermeshIp: "10.25.50.1",
        gatewayIp: "10.25.50.2",
      },
    };
    expect(ciliumValues(bgpOnly)).toMatchObject({ l2announcements: { enabled: false }, bgpControlPlane: { enabled: true } });
    expect(clusterSettings(bgpOnly)).toMatchObject({ CILIUM_L2_ANNOUNCEMENTS: "false" });
  });
});

describe("the offline plan of a member", () => {
  it("records the owner first, and prints the mesh: peers, endpoints, CA source", async () => {
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await plan(["apps"], { projectDir: fixtureDir });
    } finally {
      write.mockRestore();
    }
    expect(code).toBe(0);
    const text = out.join("");
    expect(text).toContain("== ClusterMesh");
    expect(text).toContain("this cluster: apps at 10.25.11.120:2379");
    expect(text).toContain("CA: StackReference to infra (cluster infra, generation 1)");
    expect(text).toContain("peer infra (id 1, Pulumi.infra.yaml): 10.25.11.100:2379, pods 10.244.0.0/16");
  });
});
