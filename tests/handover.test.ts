import { namespaceAllowances } from "../components/bootstrap/networkPolicies";
import { fluxInstanceAwait, handoverCriteria, handoverMessage } from "../components/flux/handoverCriteria";
import type { RecordedResource, Recording } from "../plan/record/harness";
import { handoverSection } from "../plan/report/handover";
import { fixture, recordFixture, recordWith, stacks } from "./support";

type Inputs = { metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> }; spec?: Record<string, unknown> };

const named = (r: Recording, type: string, name: string): RecordedResource => {
  const found = r.resources.find((x) => x.type === type && x.name === name);
  if (!found) throw new Error(`no ${type} ${name}`);
  return found;
};
const fluxInstanceType = "kubernetes:fluxcd.controlplane.io/v1:FluxInstance";
const release = "kubernetes:helm.sh/v3:Release";
const inputsOf = (r: Recording, x: RecordedResource): Inputs => r.plainInputs(x.urn) as Inputs;

describe.each(stacks)("hand-over to Flux, stack %s", (stack) => {
  let r: Recording;
  beforeAll(async () => {
    r = await recordFixture({ stack });
    if (r.error) throw r.error;
  });

  it("awaits the FluxInstance's Ready condition with pulumi-kubernetes' waitFor, bounded by timeoutSeconds", () => {
    const instance = inputsOf(r, named(r, fluxInstanceType, "flux"));
    expect(instance.metadata?.annotations).toEqual({ "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "900" });
    // Ready implies the sync objects' health only with flux-operator's wait on.
    expect(instance.spec?.wait).toBe(true);
  });

  it("awaits flux-operator with Helm's wait and rolls a failed install back", () => {
    expect(named(r, release, "flux-operator").inputs).toMatchObject({ skipAwait: false, atomic: true, timeout: 600 });
  });

  it("names, for every criterion, a recorded resource whose await proves it", () => {
    const names = r.resources.filter((x) => x.custom).map((x) => x.name);
    for (const c of handoverCriteria) expect({ id: c.id, awaitedBy: names.includes(c.awaitedBy) }).toEqual({ id: c.id, awaitedBy: true });
  });

  it("tells pulumi up what it waits for and how to inspect each criterion", () => {
    const log = r.logs.join("\n");
    expect(log).toContain("hand-over to Flux: pulumi up completes only when");
    for (const c of handoverCriteria) expect(log).toContain(c.inspect[0]);
  });

  it("shows the waits and what is kept on delete in the plan text", () => {
    const text = handoverSection(r).join("\n");
    expect(text).toContain("awaited by flux (pulumi.com/timeoutSeconds: 900, pulumi.com/waitFor: condition=Ready)");
    expect(text).toContain("flux get kustomizations -n flux-system");
    expect(text).toMatch(/Kept on delete.*\n.*external-secrets \[Release\].*flux \[FluxInstance\]/);
  });
});

describe("the await annotations", () => {
  it("use the syntax pulumi-kubernetes accepts: a condition= or jsonpath= expression and whole seconds", () => {
    // provider/pkg/metadata/overrides.go ReadyCondition refuses any other prefix; TimeoutDuration parses an integer.
    const a = fluxInstanceAwait();
    expect(a["pulumi.com/waitFor"]).toMatch(/^(condition=[A-Za-z]+(=[A-Za-z]+)?|jsonpath=\{.+\}(=.+)?)$/);
    expect(a["pulumi.com/timeoutSeconds"]).toMatch(/^\d+$/);
    // Longer than flux-operator's 5-minute health check, so a slow first pull gets more than one round.
    expect(Number(a["pulumi.com/timeoutSeconds"])).toBeGreaterThan(300);
  });

  it("the message names each criterion with its inspection commands", () => {
    const lines = handoverMessage().split("\n");
    expect(lines).toHaveLength(handoverCriteria.length + 1);
    expect(lines[3]).toContain("the sync source (GitRepository flux-system) fetched an artifact");
    expect(lines[3]).toContain("if not: flux get sources git -n flux-system");
  });
});

const crdCarriers: Array<[string, string]> = [
  ["kubernetes:yaml/v2:ConfigGroup", "gateway-api-crds"],
  [release, "prometheus-operator-crds"],
  [release, "cert-manager"],
  [release, "external-secrets"],
  [release, "flux-operator"],
];

describe.each(stacks)("nothing lost on delete, stack %s", (stack) => {
  let r: Recording;
  beforeAll(async () => {
    r = await recordFixture({ stack });
    if (r.error) throw r.error;
  });

  it("retains every resource that installs CRDs", () => {
    for (const [type, name] of crdCarriers) expect({ name, retain: named(r, type, name).retainOnDelete }).toEqual({ name, retain: true });
  });

  it("keeps cert-manager's CRDs on helm uninstall too (crds.keep)", () => {
    expect(r.plainInputs(named(r, release, "cert-manager").urn)).toMatchObject({ values: { crds: { enabled: true, keep: true } } });
  });

  it("retains the custom resources and the namespaces that hold the CRD-carrying releases", () => {
    for (const [type, name] of [
      [fluxInstanceType, "flux"],
      ["kubernetes:external-secrets.io/v1:ClusterSecretStore", "onepassword-store"],
      ["kubernetes:cert-manager.io/v1:ClusterIssuer", "letsencrypt-production"],
      ["kubernetes:core/v1:Namespace", "cert-manager"],
      ["kubernetes:core/v1:Namespace", "external-secrets"],
      ["kubernetes:core/v1:Namespace", "flux-system"],
    ] as const)
      expect({ name, retain: named(r, type, name).retainOnDelete }).toEqual({ name, retain: true });
  });

  it("still deletes what carries no CRD and no state: Cilium, CoreDNS and Spegel are uninstalled when removed", () => {
    for (const name of ["cilium", "coredns", "spegel"])
      expect({ name, retain: named(r, release, name).retainOnDelete }).toEqual({ name, retain: false });
  });
});

describe("disabling a component", () => {
  it("externalSecrets.enabled: false deletes nothing: every resource it drops is retained", async () => {
    const on = await recordFixture({ stack: "infra" });
    const off = await recordWith("infra", (c) => (c.externalSecrets.enabled = false));
    expect(off.error).toBeUndefined();
    const left = new Set(off.resources.map((x) => x.urn));
    const dropped = on.resources.filter((x) => x.custom && !left.has(x.urn));
    expect(dropped.map((x) => x.name).sort()).toEqual(
      [
        "external-secrets",
        "external-secrets",
        "external-secrets-bootstrap-allow",
        "external-secrets-default-deny",
        "onepassword-service-account",
        "onepassword-store",
      ].sort(),
    );
    for (const x of dropped)
      expect({ name: x.name, type: x.type, retain: x.retainOnDelete }).toEqual({ name: x.name, type: x.type, retain: true });
  });

  it("spegel.enabled: false uninstalls Spegel (no CRDs, nothing to keep)", async () => {
    const off = await recordWith("infra", (c) => (c.spegel.enabled = false));
    const on = await recordFixture({ stack: "infra" });
    const left = new Set(off.resources.map((x) => x.urn));
    const dropped = on.resources.filter((x) => x.custom && !left.has(x.urn));
    expect(dropped.map((x) => [x.name, x.retainOnDelete])).toEqual(expect.arrayContaining([["spegel", false]]));
  });
});

describe("default-deny of the bootstrap namespaces", () => {
  const infra = fixture("infra");
  const allow = namespaceAllowances(infra);
  const ports = (rules: Array<{ ports?: unknown }>) =>
    rules.flatMap((x) => (x.ports as Array<{ port: unknown }> | undefined)?.map((p) => p.port) ?? []);

  it.each(stacks)("creates default-deny and bootstrap-allow in cert-manager, external-secrets and flux-system (%s)", async (stack) => {
    const r = await recordFixture({ stack });
    const policies = r.resources.filter((x) => x.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((x) => inputsOf(r, x));
    const ids = policies.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort();
    expect(ids).toEqual(
      ["cert-manager", "external-secrets", "flux-system"].flatMap((ns) => [`${ns}/bootstrap-allow`, `${ns}/default-deny`]).sort(),
    );
    for (const p of policies.filter((x) => x.metadata?.name === "default-deny"))
      expect(p.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  it("lets every namespace reach the API server (443 and 6443, any peer: Cilium's ipBlock does not select nodes) and DNS", () => {
    for (const [ns, a] of Object.entries(allow)) {
      expect({ ns, api: a.egress.some((e) => e.to === undefined && JSON.stringify(ports([e])) === "[443,6443]") }).toEqual({
        ns,
        api: true,
      });
      expect({ ns, dns: ports(a.egress).includes(53) }).toEqual({ ns, dns: true });
    }
  });

  it("gives each namespace only its own ways out: Git over SSH for Flux alone", () => {
    const outside = (ns: keyof typeof allow) => a(ns).egress.filter((e) => JSON.stringify(e.to ?? []).includes("0.0.0.0/0"));
    const a = (ns: keyof typeof allow) => allow[ns];
    expect(ports(outside("flux-system"))).toEqual([443, 22]);
    expect(ports(outside("cert-manager"))).toEqual([443]);
    expect(ports(outside("external-secrets"))).toEqual([443]);
    // Outside means outside: the pod and Service networks are excepted.
    expect(JSON.stringify(outside("flux-system"))).toContain(JSON.stringify([infra.network.podCidr, infra.network.serviceCidr]));
  });

  it("lets the API server call the webhooks", () => {
    expect(ports(allow["cert-manager"].ingress)).toContain("https");
    expect(ports(allow["external-secrets"].ingress)).toContain(10250);
    expect(ports(allow["flux-system"].ingress)).not.toContain(10250);
  });
});
