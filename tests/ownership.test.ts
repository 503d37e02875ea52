import * as fs from "fs";
import * as path from "path";
import { helmRelease, ownership, ownershipFor } from "../components/ownership";
import type { RecordedResource, Recording } from "../plan/record/harness";
import { fixture, recordFixture, recordWith, repoRoot, stacks } from "./support";

type Inputs = { name?: string; namespace?: string; metadata?: { name?: string; namespace?: string } };

/** The ownership key of a recorded Kubernetes object (components/ownership.ts row format). */
function objectKey(r: Recording, x: RecordedResource): string {
  const inputs = r.plainInputs(x.urn) as Inputs;
  if (x.type === "kubernetes:helm.sh/v3:Release") return helmRelease(String(inputs.namespace), String(inputs.name));
  const kind = x.type.split(":").pop() ?? x.type;
  if (x.type === "kubernetes:yaml/v2:ConfigGroup") return `${kind} ${x.name}`;
  const ns = inputs.metadata?.namespace;
  return `${kind} ${ns ? `${ns}/` : ""}${inputs.metadata?.name}`;
}

/** What a recorded run makes Pulumi own in the cluster: every Kubernetes resource but the provider. */
function pulumiOwned(r: Recording): string[] {
  return (
    r.resources
      // ConfigGroup is a component (its CRDs are registered by the provider), the rest custom resources.
      .filter((x) => (x.custom || x.type === "kubernetes:yaml/v2:ConfigGroup") && x.type.startsWith("kubernetes:"))
      .map((x) => objectKey(r, x))
      .sort()
  );
}
const pulumiRows = (cluster: Parameters<typeof ownershipFor>[0]) =>
  ownershipFor(cluster)
    .filter((row) => row.owner === "Pulumi")
    .map((row) => row.object)
    .sort();

describe("ownership", () => {
  it.each(stacks)("the Pulumi rows are exactly what a run of %s registers in the cluster", async (stack) => {
    const r = await recordFixture({ stack });
    if (r.error) throw r.error;
    expect(pulumiOwned(r)).toEqual(pulumiRows(fixture(stack)));
  });

  it("and without the optional parts (Spegel, external-secrets, Cloudflare)", async () => {
    const r = await recordWith("infra", (c) => {
      c.spegel = { enabled: false };
      delete c.externalSecrets;
      delete c.cloudflare;
    });
    if (r.error) throw r.error;
    const cluster = fixture("infra");
    const bare = { ...cluster, spegel: { enabled: false }, externalSecrets: undefined, cloudflare: undefined };
    expect(pulumiOwned(r)).toEqual(pulumiRows(bare));
    expect(pulumiOwned(r)).not.toContain("Namespace spegel");
  });

  it("lists no object twice, so none is owned by both", () => {
    const objects = ownership.map((row) => row.object);
    expect(objects.filter((o, i) => objects.indexOf(o) !== i)).toEqual([]);
  });

  it("gives every row a reason", () => {
    for (const row of ownership)
      expect({ object: row.object, reason: row.reason.length > 10 }).toEqual({ object: row.object, reason: true });
  });

  it("is the table docs/architecture.md shows", () => {
    const readme = fs.readFileSync(path.join(repoRoot, "docs", "architecture.md"), "utf8");
    const section = readme.slice(readme.indexOf("<!-- ownership:start"), readme.indexOf("<!-- ownership:end"));
    const rows = [...section.matchAll(/^\| `([^`]+)` \| (Pulumi|Flux) \|/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(ownership.map((row) => [row.object, row.owner]));
  });
});
