import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { MeshView } from "../../stacks/mesh";
import { bootstrapSecret } from "../bootstrap/secret";

/**
 * The Secret Cilium's chart reads its CA from (cilium 1.20.0 chart: `_helpers.tpl` "cilium.ca.setup"
 * looks up `cilium-ca` in the Cilium namespace and reads `ca.crt`/`ca.key`; the certgen Jobs of
 * `clustermesh-apiserver/tls-cronjob` and `hubble/tls-cronjob` run `--ca-reuse-secret
 * --ca-secret-name=cilium-ca`, and cilium/certgen `internal/generate/generate.go` reads the same keys).
 */
export const clustermeshCaSecret = { name: "cilium-ca", namespace: "kube-system", certKey: "ca.crt", keyKey: "ca.key" } as const;

/** The owner stack's outputs the other members read through their StackReference. */
export const caOutputs = { cert: "clustermeshCaCert", key: "clustermeshCaKey" } as const;

/**
 * Resource names of the shared CA, one pair per generation: raising `caGeneration` creates a new
 * pair beside the protected old one (docs/operations.md, "Runbook: rotating the ClusterMesh CA"). The lifecycle diff
 * finds them by type (`tls:index/privateKey:PrivateKey`, `tls:index/selfSignedCert:SelfSignedCert`)
 * and this prefix.
 */
export const caResourcePrefix = "clustermesh-ca";
export function caResourceNames(generation: number): { key: string; cert: string } {
  return { key: `${caResourcePrefix}-key-g${generation}`, cert: `${caResourcePrefix}-g${generation}` };
}

/**
 * Ten years: longer than any leaf the certgen Jobs issue (clustermesh and Hubble: 365 days, chart
 * defaults), which `certgen.enforceCAValidityThroughoutLeavesDuration` (default true) requires.
 */
export const caValidityHours = 10 * 365 * 24;

export interface ClusterMeshArgs {
  readonly mesh: MeshView;
  readonly provider: k8s.Provider;
}

/**
 * The shared ClusterMesh CA of one member: generated here on the owner (tls PrivateKey +
 * SelfSignedCert, both protected, kept only in the owner's state and exported as secret stack
 * outputs), read through a StackReference to the owner stack on every other member, and written as
 * `kube-system/cilium-ca` (a bootstrap Secret) for Cilium's release to wait for.
 */
export class ClusterMesh extends pulumi.ComponentResource {
  readonly caCert: pulumi.Output<string>;
  readonly caKey: pulumi.Output<string>;
  /** What Cilium's release must wait for. */
  readonly caSecret: k8s.core.v1.Secret;
  /** Stack outputs of the CA owner (empty elsewhere). */
  readonly outputs: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: ClusterMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:clustermesh:ClusterMesh", name, {}, opts);
    const { mesh } = args;
    if (mesh.ca.kind === "owner") {
      const names = caResourceNames(mesh.ca.generation);
      // protect: deleting or replacing the CA breaks every member's mesh at once; only the documented
      // rotation (a new generation, then `pulumi state unprotect` of the old pair) removes it.
      const key = new tls.PrivateKey(names.key, { algorithm: "RSA", rsaBits: 4096 }, { parent: this, protect: true });
      const cert = new tls.SelfSignedCert(
        names.cert,
        {
          privateKeyPem: key.privateKeyPem,
          // The common name certgen gives the CA it would generate (chart: --ca-common-name="Cilium CA").
          subject: { commonName: "Cilium CA", organization: `talos-gitops ClusterMesh (generation ${mesh.ca.generation})` },
          isCaCertificate: true,
          validityPeriodHours: caValidityHours,
          allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
          setSubjectKeyId: true,
        },
        { parent: this, protect: true },
      );
      this.caCert = cert.certPem;
      this.caKey = pulumi.secret(key.privateKeyPem);
      this.outputs = { [caOutputs.cert]: this.caCert, [caOutputs.key]: this.caKey };
    } else {
      // `<organization>/<project>/<stack>`; a self-managed backend's organization is `organization`.
      const owner = new pulumi.StackReference(
        `${caResourcePrefix}-${mesh.ca.ownerStack}`,
        { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${mesh.ca.ownerStack}` },
        { parent: this },
      );
      this.caCert = owner.requireOutput(caOutputs.cert).apply(String);
      this.caKey = pulumi.secret(owner.requireOutput(caOutputs.key).apply(String));
      this.outputs = {};
    }
    this.caSecret = bootstrapSecret(
      "cilium-ca",
      { name: clustermeshCaSecret.name, namespace: clustermeshCaSecret.namespace },
      { [clustermeshCaSecret.certKey]: this.caCert, [clustermeshCaSecret.keyKey]: this.caKey },
      { parent: this, provider: args.provider },
    );
    this.registerOutputs({});
  }
}
