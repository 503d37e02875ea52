import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../plan/cli";
import { bringUpGraphFile, bringUpGraphMarkdown, graphMarkers } from "../plan/report/docs";
import { transitiveReduction } from "../plan/report/render";
import { withSection } from "../stacks/keyPaths";
import { fixture, fixtureDir, liveStacks, recordWith, repoRoot, stacks } from "./support";

/** Runs the plan command and captures what it prints. */
async function plan(
  argv: string[],
  where: { projectDir?: string; entry?: string } = { projectDir: fixtureDir },
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const write = (sink: "out" | "err") => (chunk: string | Uint8Array) => {
    if (sink === "out") out += String(chunk);
    else err += String(chunk);
    return true;
  };
  const stdout = jest.spyOn(process.stdout, "write").mockImplementation(write("out"));
  const stderr = jest.spyOn(process.stderr, "write").mockImplementation(write("err"));
  try {
    const code = await main(argv, where);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe.each(stacks)("npm run plan -- %s", (stack) => {
  // Applies are named by the address they configure.
  const firstApply = `apply-${fixture(stack).nodes[0]!.ip}`;
  it("prints the plan and exits 0", async () => {
    const { code, out } = await plan([stack]);
    expect(code).toBe(0);
    expect(out).toContain(`Plan for stack ${stack}`);
    expect(out).toContain("== Bring-up phases");
    expect(out).toContain(`--- ${firstApply}`);
    expect(out).toMatch(/cni:\n\s+name: none/);
    expect(out).toContain('kubeconfig: "[secret]"');
    expect(out).toContain("== Policy\n    no violations");
  });

  it("--json follows the contract exactly", async () => {
    const { code, out } = await plan([stack, "--json"]);
    expect(code).toBe(0);
    const doc = JSON.parse(out);
    expect(Object.keys(doc).sort()).toEqual(["bringUp", "invokes", "outputs", "policy", "project", "resources", "stack"]);
    expect(doc).toMatchObject({ stack, project: "talos-gitops", policy: { violations: [] } });
    for (const r of doc.resources) {
      expect(Object.keys(r).sort()).toEqual([
        "customTimeouts",
        "dependsOn",
        "ignoreChanges",
        "inputs",
        "name",
        "outputs",
        "parent",
        "protect",
        "provider",
        "retainOnDelete",
        "secretDigests",
        "secretPaths",
        "type",
        "urn",
      ]);
    }
    for (const i of doc.invokes) expect(Object.keys(i).sort()).toEqual(["args", "secretDigests", "token"]);
    const bootstrap = doc.resources.find((r: { type: string }) => r.type === "talos:machine/bootstrap:Bootstrap");
    expect(bootstrap.dependsOn).toContain(doc.resources.find((r: { name: string }) => r.name === firstApply).urn);
    expect(bootstrap.inputs.clientConfiguration).toBe("[secret]");
    expect(bootstrap.secretPaths).toEqual(["clientConfiguration"]);
    expect(doc.outputs.kubeconfig).toBe("[secret]");
    expect(doc.bringUp.criticalPathSeconds).toBeLessThan(doc.bringUp.sequentialSeconds);
    expect(doc.bringUp.path).toEqual(expect.arrayContaining([firstApply, "bootstrap", "cluster-ready"]));
  });

  it("--preview runs as a first pulumi preview", async () => {
    const { code, out } = await plan([stack, "--preview", "--json"]);
    expect(code).toBe(0);
    const apply = JSON.parse(out).resources.find((r: { name: string }) => r.name === firstApply);
    expect(apply.inputs.clientConfiguration).toBe("(known after apply)");
  });

  it("--preview prints unknown patches as one line each and the same phases as an up", async () => {
    const phasesOf = (out: string) => out.slice(out.indexOf("== Bring-up phases"), out.indexOf("== Bring-up estimate"));
    const [up, preview] = [await plan([stack]), await plan([stack, "--preview"])];
    expect(preview.code).toBe(0);
    expect(phasesOf(preview.out)).toBe(phasesOf(up.out));
    const applies = preview.out.split("\n").filter((l) => l.startsWith("--- apply-"));
    expect(applies).toHaveLength(3);
    for (const header of applies) {
      const at = preview.out.split("\n").indexOf(header);
      expect(preview.out.split("\n")[at + 1]).toBe("    (known after apply)");
      expect(preview.out.split("\n")[at + 2]).toMatch(/^--- |^$/);
    }
    // Policy: only what is known and wrong is listed; checks of values known after apply are one count.
    const policy = preview.out.slice(preview.out.indexOf("== Policy"), preview.out.indexOf("== ClusterMesh"));
    expect(policy).not.toContain("ADVISORY");
    expect(policy).toMatch(/^ {4}\d+ check\(s\) read values known only after apply, judged by pulumi up: [a-z-]+(, [a-z-]+)*$/m);
  });

  it("--graph mermaid draws the dependencies", async () => {
    const { code, out } = await plan([stack, "--graph", "mermaid"]);
    expect(code).toBe(0);
    expect(out.startsWith("flowchart TD\n")).toBe(true);
    expect(out).toMatch(/n\d+ --> n\d+/);
    // Transitively reduced: no edge that another path already implies.
    const edges = [...out.matchAll(/(n\d+) --> (n\d+)/g)].map((m) => [m[1]!, m[2]!] as const);
    const next = new Map<string, string[]>();
    for (const [a, b] of edges) next.set(a, [...(next.get(a) ?? []), b]);
    const reaches = (from: string, to: string, skip: string): boolean =>
      (next.get(from) ?? []).some((n) => !(from === skip.split(">")[0] && n === skip.split(">")[1]) && (n === to || reaches(n, to, skip)));
    for (const [a, b] of edges)
      expect({ edge: `${a}>${b}`, implied: reaches(a, b, `${a}>${b}`) }).toEqual({ edge: `${a}>${b}`, implied: false });
  });
});

// The live stack files are the user's: whatever they hold, they must validate, plan and pass policy.
describe.each(liveStacks)("live stack file Pulumi.%s.yaml", (stack) => {
  it("plans with exit 0: valid, no collision with the other stack files, no mandatory policy violation", async () => {
    const { code, err } = await plan([stack], { projectDir: repoRoot });
    expect({ code, err }).toEqual({ code: 0, err: "" });
  });
});

describe("invalid stack file", () => {
  it("exits 1 with errors naming file and key, in text and JSON", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    try {
      fs.copyFileSync(path.join(fixtureDir, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
      const broken = fs.readFileSync(path.join(fixtureDir, "Pulumi.infra.yaml"), "utf8").replace("ip: 10.25.11.13", "ip: 10.25.12.13");
      fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), broken);
      const where = { projectDir: dir, entry: path.join(repoRoot, "index") };
      const text = await plan(["broken"], where);
      expect(text.code).toBe(1);
      expect(text.err).toContain("Pulumi.broken.yaml: cluster.nodes[2].ip: 10.25.12.13 is outside the node subnet 10.25.11.0/24");
      const json = await plan(["broken", "--json"], where);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.out)).toEqual({
        errors: [
          { file: "Pulumi.broken.yaml", path: "cluster.nodes[2].ip", message: "10.25.12.13 is outside the node subnet 10.25.11.0/24" },
        ],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints the line of a wrong type as file:line: key: message", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    try {
      fs.copyFileSync(path.join(fixtureDir, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
      const source = fs.readFileSync(path.join(fixtureDir, "Pulumi.infra.yaml"), "utf8");
      fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), source.replace("id: 1\n", "id: one\n"));
      const line = source.split("\n").findIndex((l) => /^\s+id: 1$/.test(l)) + 1;
      const text = await plan(["broken"], { projectDir: dir, entry: path.join(repoRoot, "index") });
      expect(text.code).toBe(1);
      expect(text.err).toMatch(new RegExp(`^Pulumi\\.broken\\.yaml:${line}: cluster\\.id: `, "m"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 1 when the stack collides with another stack file (ClusterMesh)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    try {
      for (const f of ["Pulumi.yaml", "Pulumi.infra.yaml"]) fs.copyFileSync(path.join(fixtureDir, f), path.join(dir, f));
      const twin = fs
        .readFileSync(path.join(fixtureDir, "Pulumi.apps.yaml"), "utf8")
        .replace("podCidr: 10.246.0.0/16", "podCidr: 10.244.0.0/16");
      fs.writeFileSync(path.join(dir, "Pulumi.apps.yaml"), twin);
      const result = await plan(["apps"], { projectDir: dir, entry: path.join(repoRoot, "index") });
      expect(result.code).toBe(1);
      expect(result.err).toContain(
        "Pulumi.infra.yaml: cluster.network.podCidr: pod CIDR 10.244.0.0/16 overlaps pod CIDR 10.244.0.0/16 of cluster apps (Pulumi.apps.yaml)",
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the stacks there are when asked for one that does not exist", async () => {
    const result = await plan(["nosuch"]);
    expect(result).toEqual({ code: 1, out: "", err: "plan: there is no Pulumi.nosuch.yaml; the stacks are: apps, infra\n" });
  });

  it("refuses a bad command line", async () => {
    expect((await plan([])).code).toBe(2);
    expect((await plan(["infra", "--graph", "dot"])).code).toBe(2);
  });
});

describe("transitive reduction of the diagram", () => {
  it("drops exactly the edges another path implies", () => {
    // d waits for c, b, a; c waits for b; b waits for a: only d→c, c→b, b→a remain.
    const edges = new Map([
      ["a", new Set<string>()],
      ["b", new Set(["a"])],
      ["c", new Set(["b"])],
      ["d", new Set(["a", "b", "c"])],
      ["e", new Set(["a", "c"])],
    ]);
    expect(["a", "b", "c", "d", "e"].map((n) => transitiveReduction(n, edges))).toEqual([[], ["a"], ["b"], ["c"], ["c"]]);
  });
});

describe("bring-up diagram (docs/architecture.md)", () => {
  it("is generated from the recorded graph and up to date (npm run schema)", async () => {
    const readme = fs.readFileSync(path.join(repoRoot, bringUpGraphFile), "utf8");
    expect(withSection(readme, graphMarkers, await bringUpGraphMarkdown())).toBe(readme);
  });
});

describe("boot media", () => {
  it("the plan prints, per schematic, the nodes and the Image Factory ISO, PXE and disk URLs for the stack's Talos version", async () => {
    const { code, out } = await plan(["infra"]);
    expect(code).toBe(0);
    const section = out.slice(out.indexOf("== Boot media"), out.indexOf("== Talos config patches"));
    const version = fixture("infra").talos.version;
    expect(section.split("\n").slice(0, 5)).toEqual([
      "== Boot media (boot each machine into maintenance mode with its schematic's ISO or PXE)",
      "--- schematic: nodes infra-01, infra-02, infra-03",
      `    iso: https://factory.talos.dev/image/(schematic id)/${version}/metal-amd64.iso`,
      `    pxe: https://pxe.factory.talos.dev/pxe/(schematic id)/${version}/metal-amd64`,
      `    disk image: https://factory.talos.dev/image/(schematic id)/${version}/metal-amd64.raw.zst`,
    ]);
    expect(section).toContain("curl -sX POST --data-binary @- https://factory.talos.dev/schematics <<'EOF'\ncustomization:\n");
  });

  it("a node with its own schematic gets its own boot media, and the stack output carries both", async () => {
    const r = await recordWith("infra", (c) => (c.nodes[2].schematic = { officialExtensions: ["siderolabs/nut-client"] }));
    const images = (r.plainOutputs() as Record<string, Record<string, { nodes: string[]; iso: string }>>).bootImages!;
    expect(Object.keys(images).sort()).toEqual(["schematic", "schematic-infra-03"]);
    expect(images.schematic!.nodes).toEqual(["infra-01", "infra-02"]);
    expect(images["schematic-infra-03"]!.nodes).toEqual(["infra-03"]);
    expect(images["schematic-infra-03"]!.iso).toContain("/image/(schematic-infra-03 id)/");
  });
});
