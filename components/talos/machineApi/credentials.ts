import { credentials, type ChannelCredentials } from "@grpc/grpc-js";

/** The `clientConfiguration` of the Talos machine secrets (Pulumiverse provider output). */
export interface ClientConfiguration {
  caCertificate: string;
  clientCertificate: string;
  clientKey: string;
}

/** The provider outputs base64-encoded PEM; talosconfig files and tests may hold raw PEM. Accepts both. */
export function pemFrom(value: string, what: string): Buffer {
  const trimmed = value.trim();
  if (trimmed.startsWith("-----BEGIN ")) return Buffer.from(trimmed + "\n");
  const decoded = Buffer.from(trimmed, "base64").toString("utf8").trim();
  if (!decoded.startsWith("-----BEGIN ")) throw new Error(`${what} is neither PEM nor base64-encoded PEM`);
  return Buffer.from(decoded + "\n");
}

/**
 * Mutual TLS as talosctl does it: the cluster CA verifies apid's certificate, the admin client
 * certificate authenticates us. No server-name override: grpc-js sets the TLS server name to the
 * target host, and Node verifies an IP target against the certificate's IP SANs only, which is what
 * Talos issues apid certificates for (node addresses, plus hostname and certSANs as DNS names).
 */
export function channelCredentials(config: ClientConfiguration): ChannelCredentials {
  return credentials.createSsl(
    pemFrom(config.caCertificate, "caCertificate"),
    pemFrom(config.clientKey, "clientKey"),
    pemFrom(config.clientCertificate, "clientCertificate"),
  );
}
