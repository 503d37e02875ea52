import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { MachineSecrets } from "./provider";

/** A CA from the machine secrets, PEM. */
export interface CaPair {
  cert: string;
  key: string;
}

/**
 * A CA of the provider's machine secrets (`certs.<which>.cert` / `.key`, base64 PEM as in a Talos
 * secrets bundle: terraform-provider-talos pkg/talos/talos_machine_secrets_resource.go).
 */
export function machineSecretsCa(machineSecrets: MachineSecrets, which: "os" | "k8s"): CaPair {
  const pair = (machineSecrets.certs as Record<string, unknown> | undefined)?.[which] as Record<string, unknown> | undefined;
  const decode = (field: "cert" | "key") => {
    const value = pair?.[field];
    if (typeof value !== "string") throw new Error(`machine secrets: certs.${which}.${field} is missing`);
    const pem = Buffer.from(value, "base64").toString("utf8");
    if (!pem.startsWith("-----BEGIN ")) throw new Error(`machine secrets: certs.${which}.${field} is not base64-encoded PEM`);
    return pem;
  };
  return { cert: decode("cert"), key: decode("key") };
}

export interface ClientCertificateSpec {
  commonName: string;
  organization: string;
  validityPeriodHours: number;
  earlyRenewalHours: number;
}

/**
 * A client certificate signed locally by `ca`: `<prefix>-key`, `<prefix>-csr` and `<prefix>-cert`
 * (tls provider), children of `parent`. The tls provider re-issues it on the first run inside its
 * early-renewal window (terraform-provider-tls internal/provider/common_cert.go).
 */
export function issueClientCertificate(
  prefix: string,
  spec: ClientCertificateSpec,
  ca: pulumi.Output<CaPair>,
  parent: pulumi.Resource,
): pulumi.Output<{ caPem: string; certPem: string; keyPem: string }> {
  const key = new tls.PrivateKey(`${prefix}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
  const request = new tls.CertRequest(
    `${prefix}-csr`,
    { privateKeyPem: key.privateKeyPem, subject: { commonName: spec.commonName, organization: spec.organization } },
    { parent },
  );
  const cert = new tls.LocallySignedCert(
    `${prefix}-cert`,
    {
      certRequestPem: request.certRequestPem,
      caCertPem: ca.cert,
      caPrivateKeyPem: ca.key,
      validityPeriodHours: spec.validityPeriodHours,
      earlyRenewalHours: spec.earlyRenewalHours,
      allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
    },
    { parent },
  );
  return pulumi.all([ca.cert, cert.certPem, key.privateKeyPem]).apply(([caPem, certPem, keyPem]) => ({ caPem, certPem, keyPem }));
}
