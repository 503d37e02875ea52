import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { ClientConfiguration } from "./machineApi/credentials";
import type { MachineSecrets } from "./provider";

/**
 * An os:reader client certificate for the Talos API: what the lifecycle resources use for every call
 * os:reader may make (machineApi/roles.ts), so that the admin certificate serves only the calls that
 * need it. Talos takes the role from the certificate's Organization (siderolabs/talos v1.13.9
 * pkg/grpc/middleware/authz/injector.go, extractRoles; role name `os:reader`: pkg/machinery/role/role.go)
 * and trusts any client certificate its OS CA signed, so this is signed locally by the OS CA of the
 * machine secrets (`certs.os.cert` / `.key`, base64 PEM: terraform-provider-talos
 * pkg/talos/talos_machine_secrets_resource.go; `talos:machine/generated:Certificates.os` in the 0.8.1 schema).
 * Valid a year and replaced within 30 days of its end (`earlyRenewalHours`, as the lifecycle kubeconfig's).
 */
export const osReaderCertificate = {
  commonName: "talos-gitops:reader",
  organization: "os:reader",
  validityPeriodHours: 24 * 365,
  earlyRenewalHours: 24 * 30,
} as const;

/** The Talos OS CA (PEM) from the provider's machine secrets. */
export function osCaOf(machineSecrets: MachineSecrets): { cert: string; key: string } {
  const os = (machineSecrets.certs as Record<string, unknown> | undefined)?.os as Record<string, unknown> | undefined;
  const decode = (field: "cert" | "key") => {
    const value = os?.[field];
    if (typeof value !== "string") throw new Error(`machine secrets: certs.os.${field} is missing`);
    const pem = Buffer.from(value, "base64").toString("utf8");
    if (!pem.startsWith("-----BEGIN ")) throw new Error(`machine secrets: certs.os.${field} is not base64-encoded PEM`);
    return pem;
  };
  return { cert: decode("cert"), key: decode("key") };
}

/** Registers the key, request and certificate (children of `parent`); the client configuration is a secret. */
export function readerClientConfiguration(
  machineSecrets: pulumi.Output<MachineSecrets>,
  parent: pulumi.Resource,
): pulumi.Output<ClientConfiguration> {
  const ca = pulumi.secret(machineSecrets.apply(osCaOf));
  const key = new tls.PrivateKey("talos-reader-key", { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
  const request = new tls.CertRequest(
    "talos-reader-csr",
    {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: osReaderCertificate.commonName, organization: osReaderCertificate.organization },
    },
    { parent },
  );
  const cert = new tls.LocallySignedCert(
    "talos-reader-cert",
    {
      certRequestPem: request.certRequestPem,
      caCertPem: ca.cert,
      caPrivateKeyPem: ca.key,
      validityPeriodHours: osReaderCertificate.validityPeriodHours,
      earlyRenewalHours: osReaderCertificate.earlyRenewalHours,
      allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
    },
    { parent },
  );
  const b64 = (pem: string) => Buffer.from(pem, "utf8").toString("base64");
  return pulumi.secret(
    pulumi.all([ca.cert, cert.certPem, key.privateKeyPem]).apply(([caPem, certPem, keyPem]) => ({
      caCertificate: b64(caPem),
      clientCertificate: b64(certPem),
      clientKey: b64(keyPem),
    })),
  );
}
