import * as pulumi from "@pulumi/pulumi";
import { issueClientCertificate, machineSecretsCa, type CaPair } from "./localClientCertificate";
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
export function osCaOf(machineSecrets: MachineSecrets): CaPair {
  return machineSecretsCa(machineSecrets, "os");
}

/** Registers the key, request and certificate (children of `parent`); the client configuration is a secret. */
export function readerClientConfiguration(
  machineSecrets: pulumi.Output<MachineSecrets>,
  parent: pulumi.Resource,
): pulumi.Output<ClientConfiguration> {
  const ca = pulumi.secret(machineSecrets.apply(osCaOf));
  const b64 = (pem: string) => Buffer.from(pem, "utf8").toString("base64");
  return pulumi.secret(
    issueClientCertificate("talos-reader", osReaderCertificate, ca, parent).apply(({ caPem, certPem, keyPem }) => ({
      caCertificate: b64(caPem),
      clientCertificate: b64(certPem),
      clientKey: b64(keyPem),
    })),
  );
}
