import { certManagerValues } from "../components/bootstrap/certManager";
import { ciliumValues } from "../components/bootstrap/cilium";
import { corednsValues } from "../components/bootstrap/coredns";
import { externalSecretsValues } from "../components/bootstrap/externalSecrets";
import { spegelValues } from "../components/bootstrap/spegel";
import { fluxOperatorValues } from "../components/flux/fluxInstance";
import type { Recording } from "../plan/record/harness";
import { closeSchema, keyTreeIssues, validationErrors, validator } from "../contracts/check";
import type { KeyTree } from "../contracts/extract";
import { versions } from "../stacks/versions";
import { clone, fixture, ofType, readContract, recordFixture, stacks } from "./support";

/**
 * Every Helm value this program sets, checked against the chart at its pinned version: the chart's
 * own values.schema.json where it ships one (closed: an unknown key fails), otherwise the key tree
 * of its values.yaml and templates (contracts/README.md says where each file came from).
 */
type Check = (values: unknown) => string[];

function schemaCheck(file: string): Check {
  const validate = validator(closeSchema(readContract<object>(file), { overlay: true }));
  return (values) => validationErrors(validate, values);
}
function keyTreeCheck(file: string): Check {
  const tree = readContract<KeyTree>(file);
  return (values) => keyTreeIssues(values, tree);
}

/** Release name → its chart's contract; each file name carries the version it was taken from. */
const contracts: Record<string, { file: string; check: Check }> = Object.fromEntries(
  (
    [
      ["cilium", "schema", `charts/cilium.values.schema.v${versions.charts.cilium}.json`],
      ["cert-manager", "schema", `charts/cert-manager.values.schema.${versions.charts.certManager}.json`],
      ["external-secrets", "schema", `charts/external-secrets.values.schema.v${versions.charts.externalSecrets}.json`],
      // The newest flux-operator chart source that could be read is 0.49.0: a named exception of
      // tests/contract-pins.test.ts, and a minimal schema of ours (AGPL upstream, contracts/README.md).
      ["flux-operator", "schema", "charts/flux-operator.values.schema.v0.49.0.json"],
      ["coredns", "keys", `charts/coredns.values-keys.v${versions.charts.coredns}.json`],
      ["spegel", "keys", `charts/spegel.values-keys.v${versions.charts.spegel}.json`],
    ] as const
  ).map(([release, kind, file]) => [release, { file, check: kind === "schema" ? schemaCheck(file) : keyTreeCheck(file) }]),
);
const check = (release: string): Check => {
  const found = contracts[release];
  if (!found) throw new Error(`no contract for ${release}`);
  return found.check;
};

describe.each(stacks)("recorded Helm values, stack %s", (stack) => {
  let r: Recording;
  beforeAll(async () => {
    r = await recordFixture({ stack });
    if (r.error) throw r.error;
  });

  it("cover every release, each with a contract or nothing to check", () => {
    const names = ofType(r, "kubernetes:helm.sh/v3:Release").map((x) => x.name);
    expect(names.sort()).toEqual(
      ["cert-manager", "cilium", "coredns", "external-secrets", "flux-operator", "prometheus-operator-crds", "spegel"].sort(),
    );
  });

  it("validate against the pinned chart's contract", () => {
    for (const release of ofType(r, "kubernetes:helm.sh/v3:Release")) {
      const values = (r.plainInputs(release.urn) as { values: Record<string, unknown> }).values;
      // prometheus-operator-crds is installed with its defaults: nothing of ours to check.
      if (release.name === "prometheus-operator-crds") {
        expect(values).toEqual({});
        continue;
      }
      expect({ release: release.name, issues: check(release.name)(values) }).toEqual({ release: release.name, issues: [] });
    }
  });
});

describe("the contracts can fail", () => {
  const infra = fixture("infra");

  it("Cilium: a misspelt key, a wrong type and a value removed in 1.19/1.20 are refused", () => {
    const cilium = check("cilium");
    const misspelt = clone(ciliumValues(infra)) as { bpf: Record<string, unknown> };
    misspelt.bpf.hostLegacyRoutng = false;
    expect(cilium(misspelt)).toEqual(["/bpf: must NOT have additional properties 'hostLegacyRoutng'"]);
    expect(cilium({ ...ciliumValues(infra), cluster: { name: "infra", id: "1" } })).toEqual(["/cluster/id: must be integer"]);
    // Gone from the chart between 1.18 and 1.20 (cilium/charts values.yaml): nodePort.enabled, svcSourceRangeCheck.
    expect(cilium({ nodePort: { enabled: true } })).toEqual(["/nodePort: must NOT have additional properties 'enabled'"]);
    expect(cilium({ svcSourceRangeCheck: true })).toEqual(["/: must NOT have additional properties 'svcSourceRangeCheck'"]);
  });

  it("cert-manager, external-secrets and flux-operator: a misspelt key is refused", () => {
    expect(check("cert-manager")({ ...certManagerValues(), installCRD: true })).toEqual([
      "/: must NOT have additional properties 'installCRD'",
    ]);
    expect(check("external-secrets")({ ...externalSecretsValues(), serviceMonitor: { enable: true } })).toEqual([
      "/serviceMonitor: must NOT have additional properties 'enable'",
    ]);
    expect(check("flux-operator")({ ...fluxOperatorValues(), serviceMonitor: { enabled: true } })).toEqual([
      "/serviceMonitor: must NOT have additional properties 'enabled'",
    ]);
  });

  it("CoreDNS and Spegel: an unknown key path or a wrong type is refused", () => {
    expect(check("coredns")({ ...corednsValues(infra), replicas: 2 })).toEqual(["replicas: not a value of the chart"]);
    expect(check("coredns")({ prometheus: { monitor: { enabled: "yes" } } })).toEqual([
      "prometheus.monitor.enabled: is string, the chart's default is boolean",
    ]);
    expect(check("spegel")({ ...spegelValues(), spegel: { containerdRegistryConfigDir: "/etc/cri/conf.d/hosts" } })).toEqual([
      "spegel.containerdRegistryConfigDir: not a value of the chart",
    ]);
  });
});

describe("values the audit corrected", () => {
  const infra = fixture("infra");

  it("CoreDNS: the metrics Service exists for the ServiceMonitor to select, and the chart has its own ServiceAccount", () => {
    // coredns-1.46.2: servicemonitor.yaml selects `app.kubernetes.io/component: metrics`, which only
    // service-metrics.yaml (behind prometheus.service.enabled) carries; clusterrolebinding.yaml binds
    // the ClusterRole to `default` unless serviceAccount.create.
    expect(corednsValues(infra)).toEqual({
      replicaCount: 2,
      k8sAppLabelOverride: "kube-dns",
      service: { name: "kube-dns", clusterIP: "10.245.0.10" },
      prometheus: { service: { enabled: true }, monitor: { enabled: true } },
      serviceAccount: { create: true },
      priorityClassName: "system-cluster-critical",
    });
  });

  it("Cilium: BPF masquerading with BPF host routing, as Talos' Cilium guide pairs with forwardKubeDNSToHost off", () => {
    expect(ciliumValues(infra)).toMatchObject({
      kubeProxyReplacement: true,
      routingMode: "native",
      bpf: { masquerade: true, hostLegacyRouting: false },
    });
  });

  it("external-secrets 2.x still names its CRD switch installCRDs", () => {
    expect(externalSecretsValues()).toEqual({ installCRDs: true, serviceMonitor: { enabled: true } });
  });
});
