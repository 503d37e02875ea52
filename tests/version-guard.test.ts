import { versionGuardProvider, versionRefusals, type VersionGuardInputs } from "../components/talos/lifecycle/versionGuardProvider";
import { kubeconfigYaml, kubernetesCaOf } from "../components/talos/lifecycle/adminKubeconfig";
import { parseKubeconfig } from "../components/kubernetesApi/kubeconfig";

const at = (talosVersion: string, kubernetesVersion: string): VersionGuardInputs => ({
  file: "Pulumi.lab.yaml",
  talosVersion,
  kubernetesVersion,
  kubernetesRange: { min: "1.30", max: "1.35" },
});

describe("the versions record's diff", () => {
  it("accepts a patch or one minor forward, and a first record (nothing before)", async () => {
    expect(versionRefusals(at("v1.11.6", "v1.34.1"), at("v1.12.11", "v1.35.0"))).toEqual([]);
    expect(versionRefusals(at("v1.12.1", "v1.34.1"), at("v1.12.11", "v1.34.9"))).toEqual([]);
    expect(versionRefusals({}, at("v1.12.11", "v1.35.0"))).toEqual([]);
    expect(await versionGuardProvider.diff!("versions", at("v1.12.1", "v1.34.1"), at("v1.12.2", "v1.34.1"))).toEqual({
      changes: true,
      replaces: [],
    });
    expect(await versionGuardProvider.diff!("versions", at("v1.12.1", "v1.34.1"), at("v1.12.1", "v1.34.1"))).toEqual({
      changes: false,
      replaces: [],
    });
  });

  it("refuses, naming the file and key, a skipped minor, a downgrade, and Kubernetes outside the Talos line's range", async () => {
    expect(versionRefusals(at("v1.11.6", "v1.33.1"), at("v1.13.0", "v1.35.0"))).toEqual([
      "Pulumi.lab.yaml talos.version: v1.11.6 → v1.13.0 skips v1.12: upgrade one minor at a time",
      "Pulumi.lab.yaml talos.kubernetesVersion: Kubernetes v1.33.1 → v1.35.0 skips a minor: upgrade one minor at a time",
    ]);
    expect(versionRefusals(at("v1.12.2", "v1.34.1"), at("v1.12.1", "v1.34.0"))).toEqual([
      "Pulumi.lab.yaml talos.version: v1.12.2 → v1.12.1 is a downgrade",
      "Pulumi.lab.yaml talos.kubernetesVersion: Kubernetes v1.34.1 → v1.34.0 is a downgrade",
    ]);
    expect(versionRefusals(at("v1.12.2", "v1.35.1"), at("v1.12.2", "v1.36.0"))).toEqual([
      "Pulumi.lab.yaml talos.kubernetesVersion: Kubernetes v1.36.0 is outside the range the target Talos supports (1.30 to 1.35)",
    ]);
    // The diff throws: the engine then fails the preview before any step.
    await expect(versionGuardProvider.diff!("versions", at("v1.11.6", "v1.34.1"), at("v1.13.0", "v1.34.1"))).rejects.toThrow(
      "refused version change: Pulumi.lab.yaml talos.version: v1.11.6 → v1.13.0 skips v1.12",
    );
  });

  it("records its inputs as outputs on create and update", async () => {
    expect(await versionGuardProvider.create!(at("v1.12.1", "v1.34.1"))).toEqual({ id: "versions", outs: at("v1.12.1", "v1.34.1") });
    expect(await versionGuardProvider.update!("versions", at("v1.12.1", "v1.34.1"), at("v1.12.2", "v1.34.1"))).toEqual({
      outs: at("v1.12.2", "v1.34.1"),
    });
  });
});

describe("the lifecycle kubeconfig", () => {
  const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
  const b64 = (text: string) => Buffer.from(text).toString("base64");

  it("reads the Kubernetes CA from the machine secrets (base64 PEM), and names what is missing or malformed", () => {
    const secrets = { certs: { k8s: { cert: b64(pem("CERTIFICATE", "ca")), key: b64(pem("EC PRIVATE KEY", "key")) } } };
    expect(kubernetesCaOf(secrets)).toEqual({ cert: pem("CERTIFICATE", "ca"), key: pem("EC PRIVATE KEY", "key") });
    expect(() => kubernetesCaOf({ certs: { k8s: { cert: b64(pem("CERTIFICATE", "ca")) } } })).toThrow(
      "machine secrets: certs.k8s.key is missing",
    );
    expect(() => kubernetesCaOf({})).toThrow("machine secrets: certs.k8s.cert is missing");
    expect(() => kubernetesCaOf({ certs: { k8s: { cert: pem("CERTIFICATE", "ca"), key: "x" } } })).toThrow(
      "machine secrets: certs.k8s.cert is not base64-encoded PEM",
    );
  });

  it("is a kubeconfig our Kubernetes client reads: server, CA and client certificate", () => {
    const text = kubeconfigYaml({
      cluster: "lab",
      server: "https://10.25.11.10:6443",
      caPem: pem("CERTIFICATE", "ca"),
      certPem: pem("CERTIFICATE", "client"),
      keyPem: pem("EC PRIVATE KEY", "key"),
    });
    expect(parseKubeconfig(text)).toEqual({
      server: "https://10.25.11.10:6443",
      ca: pem("CERTIFICATE", "ca"),
      clientCertificate: pem("CERTIFICATE", "client"),
      clientKey: pem("EC PRIVATE KEY", "key"),
      token: undefined,
    });
  });
});
