import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { stringify } from "yaml";
import { lifecycleUser } from "../../kubernetesApi/rbac";
import type { MachineSecrets } from "../provider";

/**
 * The Kubernetes credential the lifecycle resources use (the drain before an upgrade, the drain and
 * Node delete of a removal, the readiness waits): a client certificate signed locally by the
 * cluster's Kubernetes CA from the machine secrets, for the user `talos-gitops:lifecycle`, whose only
 * rights are the ClusterRole the bootstrap binds to it (components/kubernetesApi/rbac.ts,
 * components/bootstrap/lifecycleRbac.ts). Not `system:masters`: the organization is the user's own
 * (an x509 client's groups are its O values: kubernetes staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go CommonNameUserConversion).
 *
 * Why not the Kubeconfig resource: that one is fetched from the first control plane after the
 * bootstrap, which follows the applies, and the applies follow the OS upgrades (the config contract
 * moves only once every node runs the new version) — an upgrade that needed it would wait for itself.
 * This one depends on the machine secrets only.
 *
 * Validity and renewal. The tls provider re-issues the certificate on the first run inside its early
 * renewal window (terraform-provider-tls internal/provider/common_cert.go,
 * modifyPlanIfCertificateReadyForRenewal: at plan time, no refresh needed, the plan requires a
 * replacement). The new kubeconfig reaches every lifecycle resource as an input in that run, and the
 * NodeMemberships' stored outputs through their update (nodeMembershipProvider.ts diff). But a
 * NodeMembership's delete — a node removal — runs with the outputs stored at its last create or update
 * (pulumi/pulumi v3.259.0 sdk/nodejs/cmd/dynamic-provider/index.ts `delete`: `req.getProperties()`,
 * the old outputs), so the certificate a removal uses is the one of the previous run. The validity is
 * therefore the longest gap between two runs in which a removal still works: 90 days; re-issued on
 * any run at least 30 days after issue (60 days early), so an actively managed stack never carries a
 * certificate older than a month plus the gap to its next run.
 */
export const lifecycleCertificate = {
  commonName: lifecycleUser,
  organization: lifecycleUser,
  validityPeriodHours: 24 * 90,
  earlyRenewalHours: 24 * 60,
} as const;

export interface KubernetesCa {
  /** PEM */
  cert: string;
  /** PEM */
  key: string;
}

/**
 * The Kubernetes CA from the provider's machine secrets (`certs.k8s.cert` / `.key`, base64 PEM as in
 * a Talos secrets bundle: terraform-provider-talos pkg/talos/talos_machine_secrets_resource.go).
 */
export function kubernetesCaOf(machineSecrets: MachineSecrets): KubernetesCa {
  const certs = machineSecrets.certs as Record<string, unknown> | undefined;
  const k8s = certs?.k8s as Record<string, unknown> | undefined;
  const decode = (field: "cert" | "key") => {
    const value = k8s?.[field];
    if (typeof value !== "string") throw new Error(`machine secrets: certs.k8s.${field} is missing`);
    const pem = Buffer.from(value, "base64").toString("utf8");
    if (!pem.startsWith("-----BEGIN ")) throw new Error(`machine secrets: certs.k8s.${field} is not base64-encoded PEM`);
    return pem;
  };
  return { cert: decode("cert"), key: decode("key") };
}

export interface KubeconfigParts {
  cluster: string;
  /** `https://host:port` */
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A kubeconfig with one cluster, user and context, certificates inline (base64 PEM). */
export function kubeconfigYaml(parts: KubeconfigParts): string {
  const b64 = (pem: string) => Buffer.from(pem, "utf8").toString("base64");
  const user = `${lifecycleCertificate.commonName}@${parts.cluster}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: parts.cluster, cluster: { server: parts.server, "certificate-authority-data": b64(parts.caPem) } }],
    users: [{ name: user, user: { "client-certificate-data": b64(parts.certPem), "client-key-data": b64(parts.keyPem) } }],
    contexts: [{ name: user, context: { cluster: parts.cluster, user } }],
    "current-context": user,
  });
}

/** Registers the key, request and certificate (children of `parent`); the kubeconfig is a secret. */
export function lifecycleKubeconfig(
  args: { cluster: string; server: string; machineSecrets: pulumi.Output<MachineSecrets> },
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const ca = pulumi.secret(args.machineSecrets.apply(kubernetesCaOf));
  const key = new tls.PrivateKey("lifecycle-key", { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
  const request = new tls.CertRequest(
    "lifecycle-csr",
    {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: lifecycleCertificate.commonName, organization: lifecycleCertificate.organization },
    },
    { parent },
  );
  const cert = new tls.LocallySignedCert(
    "lifecycle-cert",
    {
      certRequestPem: request.certRequestPem,
      caCertPem: ca.cert,
      caPrivateKeyPem: ca.key,
      validityPeriodHours: lifecycleCertificate.validityPeriodHours,
      earlyRenewalHours: lifecycleCertificate.earlyRenewalHours,
      allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
    },
    { parent },
  );
  return pulumi.secret(
    pulumi
      .all([ca.cert, cert.certPem, key.privateKeyPem])
      .apply(([caPem, certPem, keyPem]) => kubeconfigYaml({ cluster: args.cluster, server: args.server, caPem, certPem, keyPem })),
  );
}
