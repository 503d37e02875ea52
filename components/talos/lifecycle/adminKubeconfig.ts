import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { lifecycleUser } from "../../kubernetesApi/rbac";
import { issueClientCertificate, machineSecretsCa, type CaPair } from "../localClientCertificate";
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

export type KubernetesCa = CaPair;

/** The Kubernetes CA from the provider's machine secrets (`certs.k8s`). */
export function kubernetesCaOf(machineSecrets: MachineSecrets): KubernetesCa {
  return machineSecretsCa(machineSecrets, "k8s");
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
  return pulumi.secret(
    issueClientCertificate("lifecycle", lifecycleCertificate, ca, parent).apply((pems) =>
      kubeconfigYaml({ cluster: args.cluster, server: args.server, ...pems }),
    ),
  );
}
