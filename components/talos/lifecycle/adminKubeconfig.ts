import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { stringify } from "yaml";
import type { MachineSecrets } from "../provider";

/**
 * The Kubernetes credential the lifecycle resources use (the drain before an upgrade, the drain and
 * Node delete of a removal): a client certificate signed locally by the cluster's Kubernetes CA from
 * the machine secrets, in group `system:masters` like Talos' own admin kubeconfig (siderolabs/talos
 * pkg/machinery/constants: KubernetesAdminCertOrganization).
 *
 * Why not the Kubeconfig resource: that one is fetched from the first control plane after the
 * bootstrap, which follows the applies, and the applies follow the OS upgrades (the config contract
 * moves only once every node runs the new version) — an upgrade that needed it would wait for itself.
 * This one depends on the machine secrets only.
 *
 * The certificate is valid a year; the tls provider replaces it on the first run within 30 days of
 * its end (`earlyRenewalHours`: terraform-provider-tls, locally signed cert, ready_for_renewal makes
 * the plan require a replacement), which gives the resources that hold it a fresh one.
 */
export const lifecycleCertificate = {
  commonName: "talos-gitops:lifecycle",
  organization: "system:masters",
  validityPeriodHours: 24 * 365,
  earlyRenewalHours: 24 * 30,
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
