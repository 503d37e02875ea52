import * as forge from "node-forge";
import type { ClientConfiguration } from "../../components/talos/machineApi/credentials";

/** A PEM certificate and its key. */
export interface Issued {
  cert: string;
  key: string;
}

interface Signer {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

let serial = 1;

function newCertificate(commonName: string, organization: string | undefined, issuer: Signer | undefined) {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = (serial++).toString(16).padStart(2, "0");
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject: forge.pki.CertificateField[] = [{ name: "commonName", value: commonName }];
  if (organization) subject.push({ name: "organizationName", value: organization });
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  return { keys, cert };
}

/** A self-signed CA, as Talos machine secrets hold one for the OS API. */
export function createCa(commonName: string): { signer: Signer; pem: Issued } {
  const { keys, cert } = newCertificate(commonName, undefined, undefined);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { signer: { cert, key: keys.privateKey }, pem: pem(cert, keys.privateKey) };
}

function pem(cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey): Issued {
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(key) };
}

/** apid's serving certificate: Talos issues it for the node's addresses (IP SANs). */
export function issueServer(ca: Signer, ips: readonly string[]): Issued {
  const { keys, cert } = newCertificate("apid", undefined, ca);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: ips.map((ip) => ({ type: 7, ip })) },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return pem(cert, keys.privateKey);
}

/** The admin client certificate of a talosconfig: the role travels in the organization. */
export function issueClient(ca: Signer, role = "os:admin"): Issued {
  const { keys, cert } = newCertificate("admin", role, ca);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, critical: true },
    { name: "extKeyUsage", clientAuth: true },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return pem(cert, keys.privateKey);
}

/** Everything a test needs: the cluster CA with a server and client pair, and a foreign CA's client. */
export interface TestPki {
  ca: Issued;
  server: Issued;
  client: Issued;
  foreignClient: Issued;
  /** A server certificate from the right CA but for another address. */
  serverForOtherIp: Issued;
}

export function createTestPki(): TestPki {
  const ca = createCa("talos");
  const foreign = createCa("someone-else");
  return {
    ca: ca.pem,
    server: issueServer(ca.signer, ["127.0.0.1"]),
    client: issueClient(ca.signer),
    foreignClient: issueClient(foreign.signer),
    serverForOtherIp: issueServer(ca.signer, ["10.25.11.11"]),
  };
}

/** A client configuration as the Talos provider outputs it (base64 PEM), for `client` (default: the os:admin client). */
export function clientConfigurationOf(pki: TestPki, client: Issued = pki.client): ClientConfiguration {
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");
  return { caCertificate: b64(pki.ca.cert), clientCertificate: b64(client.cert), clientKey: b64(client.key) };
}
