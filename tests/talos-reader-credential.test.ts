import { osCaOf } from "../components/talos/osReaderCertificate";
import { recordFixture } from "./support";

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("the os:reader Talos credential", () => {
  it("is a client certificate with organization os:reader, signed by the OS CA of the machine secrets, passed as a secret", async () => {
    const r = await recordFixture({ stack: "infra" });
    const named = (name: string) => r.resources.find((x) => x.name === name)!;
    expect(named("talos-reader-csr").inputs).toMatchObject({ subject: { commonName: "talos-gitops:reader", organization: "os:reader" } });
    expect(named("talos-reader-cert").inputs).toMatchObject({
      validityPeriodHours: 8760,
      earlyRenewalHours: 720,
      allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
    });
    expect(named("talos-reader-cert").secretPaths).toEqual(expect.arrayContaining(["caCertPem", "caPrivateKeyPem"]));
    // ClusterReady gets only the reader; gates, upgrades and memberships get it beside the admin one.
    expect(named("cluster-ready").dependsOn).toContain(named("talos-reader-cert").urn);
    const holders = r.resources.filter((x) => /^(gate|osupgrade|membership)-/.test(x.name));
    expect(holders).toHaveLength(9);
    for (const resource of holders)
      expect({ name: resource.name, secret: resource.secretPaths.includes("readerConfiguration") }).toEqual({
        name: resource.name,
        secret: true,
      });
  });

  it("reads the OS CA from certs.os (base64 PEM), and names what is missing", () => {
    const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
    expect(osCaOf({ certs: { os: { cert: b64(pem("CERTIFICATE")), key: b64(pem("PRIVATE KEY")) } } })).toEqual({
      cert: pem("CERTIFICATE"),
      key: pem("PRIVATE KEY"),
    });
    expect(() => osCaOf({ certs: { k8s: {} } })).toThrow("machine secrets: certs.os.cert is missing");
    expect(() => osCaOf({ certs: { os: { cert: b64(pem("CERTIFICATE")), key: "x" } } })).toThrow(
      "machine secrets: certs.os.key is not base64-encoded PEM",
    );
  });
});
