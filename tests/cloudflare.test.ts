import { type Recording } from "../plan/record/harness";
import { exposedCredentials } from "../plan/report/secrecy";
import { fqdn } from "../components/cloudflare/edge";
import { ofType, recordFixture, recordWith, stacks } from "./support";

const inputsOf = (r: Recording, type: string) => ofType(r, type).map((x) => x.inputs as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any

/** Both clusters share the zone: infra takes the defaults, apps its own anchor and names. */
const edgeNames: Record<string, { anchor: string; hostname: string }> = {
  infra: { anchor: "external.monosense.io", hostname: "*.monosense.io" },
  apps: { anchor: "external.apps.monosense.io", hostname: "*.apps.monosense.io" },
};

describe.each(stacks)("Cloudflare edge, stack %s", (stack) => {
  const names = edgeNames[stack]!;
  let r: Recording;
  beforeAll(async () => {
    r = await recordFixture({ stack });
    if (r.error) throw r.error;
  });

  it("creates one named tunnel with a program-generated secret", () => {
    const [tunnel] = ofType(r, "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared");
    expect(tunnel?.inputs).toMatchObject({ name: `${stack}-tunnel`, configSrc: "cloudflare", tunnelSecret: "[secret]" });
    expect(tunnel?.secretPaths).toContain("tunnelSecret");
    expect(tunnel?.propertyDependencies.tunnelSecret?.[0]).toContain("random:index/randomBytes:RandomBytes");
  });

  it("routes the cluster's names to the external Gateway, then 404", () => {
    const [config] = inputsOf(r, "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig");
    expect(config?.config.ingresses).toEqual([
      {
        hostname: names.hostname,
        service: "https://cilium-gateway-external.kube-system.svc.cluster.local:443",
        originRequest: { originServerName: names.anchor, http2Origin: true },
      },
      { service: "http_status:404" },
    ]);
  });

  it("publishes the one proxied anchor, pointing at the tunnel", () => {
    const records = ofType(r, "cloudflare:index/dnsRecord:DnsRecord");
    expect(records).toHaveLength(1);
    const tunnel = ofType(r, "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared")[0]!;
    expect(records[0]!.inputs).toMatchObject({
      name: names.anchor,
      type: "CNAME",
      proxied: true,
      ttl: 1,
      content: `(${tunnel.name} id).cfargotunnel.com`,
    });
    expect(records[0]!.dependsOn).toContain(tunnel.urn);
  });

  it("creates two tokens, each scoped to the zone with Zone Read and DNS Write only", () => {
    const tokens = inputsOf(r, "cloudflare:index/accountToken:AccountToken");
    expect(tokens.map((t) => t.name).sort()).toEqual([`${stack}-cert-manager-dns01`, `${stack}-external-dns`]);
    for (const token of tokens) {
      expect(token.policies).toHaveLength(1);
      const [policy] = token.policies;
      expect(policy.effect).toBe("allow");
      expect(Object.keys(JSON.parse(policy.resources))).toEqual(["com.cloudflare.api.account.zone.00000000000000000000000000000002"]);
      expect(policy.permissionGroups).toEqual([{ id: "(id of Zone Read)" }, { id: "(id of DNS Write)" }]);
    }
    const lookups = r.invokes.filter((i) => i.token.includes("getAccountApiTokenPermissionGroupsList"));
    expect(lookups.map((l) => (l.args as Record<string, unknown>).scope)).toEqual([
      "com.cloudflare.api.account.zone",
      "com.cloudflare.api.account.zone",
    ]);
  });

  it("delivers the tokens as secrets where cert-manager, external-dns and cloudflared read them", () => {
    const secrets = ofType(r, "kubernetes:core/v1:Secret").map((s) => {
      const { metadata } = s.inputs as { metadata: { namespace: string; name: string } };
      return `${metadata.namespace}/${metadata.name}`;
    });
    expect(secrets).toEqual(
      expect.arrayContaining(["cert-manager/cloudflare-api-token", "external-dns/cloudflare-api-token", "cloudflared/cloudflared-tunnel"]),
    );
    const provider = ofType(r, "pulumi:providers:cloudflare")[0]!;
    expect(provider.secretPaths).toContain("apiToken");
    expect(exposedCredentials(r)).toEqual([]);
    const issuers = ofType(r, "kubernetes:cert-manager.io/v1:ClusterIssuer");
    expect(issuers.map((i) => i.name).sort()).toEqual(["letsencrypt-production", "letsencrypt-staging"]);
  });
});

describe("a stack without Cloudflare", () => {
  it("registers none of it, skips the DNS-01 issuers with a log line, and the rest still works", async () => {
    const r = await recordWith("infra", (c) => delete c.cloudflare);
    expect(r.error).toBeUndefined();
    expect(
      r.resources.filter(
        (x) => x.type.startsWith("cloudflare:") || x.type === "pulumi:providers:cloudflare" || x.type.startsWith("random:"),
      ),
    ).toEqual([]);
    expect(r.resources.filter((x) => x.type.endsWith(":ClusterIssuer"))).toEqual([]);
    expect(r.logs.join("\n")).toContain("no Cloudflare settings, so no Let's Encrypt DNS-01 ClusterIssuers");
    expect(r.resources.some((x) => x.type === "kubernetes:fluxcd.controlplane.io/v1:FluxInstance")).toBe(true);
  });
});

describe("extra DNS records", () => {
  it("adds extra records from the config, fully qualified", async () => {
    const r = await recordWith(
      "infra",
      (c) => (c.cloudflare.records = [{ name: "status", type: "CNAME", content: "example.github.io", proxied: false }]),
    );
    expect(r.error).toBeUndefined();
    const names = r.resources
      .filter((x) => x.type === "cloudflare:index/dnsRecord:DnsRecord")
      .map((x) => (x.inputs as Record<string, unknown>).name);
    expect(names.sort()).toEqual(["external.monosense.io", "status.monosense.io"]);
  });
});

describe("fqdn", () => {
  it("qualifies bare names and leaves full ones", () => {
    expect([fqdn("a", "d.io"), fqdn("a.d.io", "d.io"), fqdn("@", "d.io"), fqdn("a.d.io.", "d.io")]).toEqual([
      "a.d.io",
      "a.d.io",
      "d.io",
      "a.d.io",
    ]);
  });
});
