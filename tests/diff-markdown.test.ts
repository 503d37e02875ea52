import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { baselineOfRecording, stateOfRecorded } from "../plan/model/baseline";
import { diffRun, type DiffOutcome, type DiffReport } from "../plan/model/diff";
import { defaultMarkdownBudget, diffMarkdown } from "../plan/report/diffMarkdown";
import { rolloutOrder } from "../plan/model/summary";
import type { Step } from "../plan/model/steps";
import { diffDetailLines, diffText, rolloutLines } from "../plan/report/diffRender";
import { recordedResource } from "./plan-fixtures";
import { runPlan } from "./plan-cli";
import { fixtureDir, recordWith, repoRoot, type RawCluster } from "./support";

/** `plan --diff --markdown`: the pull-request comment form of the same report. */
jest.setTimeout(180_000);

const fullCommand = "npm run plan -- infra --diff base";
const render = (o: DiffOutcome, budget = defaultMarkdownBudget) => diffMarkdown(o, { budget, fullCommand });
/** What comes before the collapsed detail. */
const summaryOf = (markdown: string) => markdown.slice(0, markdown.indexOf("<details>"));
/** GFM table cells: a row splits on pipes no backslash escapes (the escape of a backslash counts). */
function cells(row: string): string[] {
  const out = [""];
  for (let i = 0; i < row.length; i++) {
    const c = row[i] ?? "";
    if (c === "|") out.push("");
    else out[out.length - 1] += c === "\\" ? c + (row[++i] ?? "") : c;
  }
  return out.slice(1, -1);
}
/** The text form's detail lines, without the blank line that opens them. */
function detailOf(o: DiffOutcome): string[] {
  const lines = diffDetailLines(o);
  while (lines[0] === "") lines.shift();
  return lines;
}
/** Text as it reads once Markdown's backslash escapes are resolved. */
const unescaped = (s: string) => s.replace(/\\([!-/:-@[-`{-~])/g, "$1");

async function diff(base: (c: RawCluster) => void, next: (c: RawCluster) => void): Promise<DiffOutcome> {
  const recorded = await recordWith("infra", base);
  if (recorded.error) throw new Error(`the base run failed: ${recorded.error.message}`);
  return diffRun("infra", baselineOfRecording(recorded, "base"), (opts) => recordWith("infra", next, opts));
}

describe("the markdown of a Kubernetes patch bump", () => {
  let bump: DiffOutcome;
  beforeAll(async () => {
    bump = await diff(
      () => undefined,
      (c) => (c.talos.kubernetesVersion = "v1.34.2"),
    );
  });

  it("shows the version from → to in the summary, before the collapsed detail", () => {
    const markdown = render(bump);
    expect(markdown.split("\n")[0]).toBe("### `plan --diff` of stack `infra` against `base`");
    expect(summaryOf(markdown).split("\n")).toContain("| Kubernetes | v1.34.1 → v1.34.2 |");
    expect(summaryOf(markdown)).toContain("**Changes:** 9 to update,");
    // Each control plane in turn, its apply then its gate: the same order the text and JSON carry.
    expect(summaryOf(markdown)).toContain(
      "**Roll-out order** (nodes on one line roll together)\n\n" +
        "1. waves 2–3: infra-01 (10.25.11.11)\n2. waves 4–5: infra-02 (10.25.11.12)\n3. waves 6–7: infra-03 (10.25.11.13)\n",
    );
    expect(diffText(bump)).toContain("== Roll-out order (nodes on one line roll together)\n    waves 2–3: infra-01 (10.25.11.11)\n");
    // The detail is the text form's, whole, in a fenced block inside a collapsed <details>.
    expect(markdown).toContain(`\n\n\`\`\`text\n${detailOf(bump).join("\n")}\n\`\`\`\n\n</details>\n`);
    expect(markdown).not.toContain("<details open");
    expect(markdown).not.toContain("lines cut");
  });

  it("cuts the detail, never the summary, to stay within the budget, and says how many lines went and how to see them", () => {
    const whole = render(bump);
    const total = detailOf(bump).length;
    const budget = summaryOf(whole).length + 900;
    const cut = render(bump, budget);
    expect(Array.from(cut).length).toBeLessThanOrEqual(budget);
    expect(summaryOf(cut)).toBe(summaryOf(whole));
    const fenced = cut.slice(cut.indexOf("```text\n") + 8, cut.lastIndexOf("\n```\n")).split("\n");
    expect(fenced[0]).toBe("== Steps, in execution order (one wave runs at once)");
    expect(fenced.length).toBeLessThan(total);
    expect(cut).toContain(
      `\n${total - fenced.length} of ${total} lines cut to fit a pull-request comment: \`npm run plan -- infra --diff base\` prints them all.\n`,
    );
    expect(cut).toContain(`the preview's calls (${fenced.length} of ${total} lines)</summary>`);

    // Every budget from the summary with no detail line to the whole document holds, whatever the counts' widths.
    for (let b = Array.from(render(bump, 0)).length; b <= whole.length; b++)
      expect(Array.from(render(bump, b)).length).toBeLessThanOrEqual(b);

    // A summary larger than the budget stays whole: every detail line goes.
    const tiny = render(bump, 100);
    expect(summaryOf(tiny)).toBe(summaryOf(whole));
    expect(tiny).toContain(`\n${total} of ${total} lines cut`);
  });
});

describe("roll-out order", () => {
  const step = (type: string, op: Step["op"], wave: number, inputs: Record<string, string>, deleteWave?: number): Step => {
    const r = recordedResource(`${type}-${inputs.node ?? ""}`, { type: `pulumi-nodejs:dynamic/talos:${type}`, inputs });
    return {
      urn: r.urn,
      type: r.type,
      name: r.name,
      op,
      changed: [],
      reason: "",
      wave,
      ...(op === "delete" ? { old: stateOfRecorded(r) } : { next: r }),
      deleteBeforeReplace: false,
      ...(deleteWave === undefined ? {} : { deleteWave }),
    };
  };

  it("orders nodes by the first wave that touches them, batches together, joins and leaves named, unchanged nodes left out", () => {
    const order = rolloutOrder([
      step("NodeGate", "update", 7, { node: "10.0.0.31" }),
      step("OsUpgrade", "update", 6, { node: "10.0.0.32" }),
      step("OsUpgrade", "update", 6, { node: "10.0.0.31" }),
      step("NodeGate", "update", 7, { node: "10.0.0.32" }),
      step("OsUpgrade", "update", 3, { node: "10.0.0.11" }),
      step("NodeMembership", "update", 4, { node: "10.0.0.11", nodeName: "cp-1" }, 9),
      step("NodeMembership", "same", 0, { node: "10.0.0.12", nodeName: "cp-2" }),
      step("NodeMembership", "create", 8, { node: "10.0.0.41", nodeName: "new" }),
      step("NodeMembership", "delete", 10, { node: "10.0.0.13", nodeName: "old" }),
      step("ClusterReady", "update", 9, { node: "10.0.0.99" }),
    ]);
    expect(order).toEqual([
      { node: "10.0.0.11", name: "cp-1", firstWave: 3, lastWave: 9, change: "changes" },
      { node: "10.0.0.31", name: "10.0.0.31", firstWave: 6, lastWave: 7, change: "changes" },
      { node: "10.0.0.32", name: "10.0.0.32", firstWave: 6, lastWave: 7, change: "changes" },
      { node: "10.0.0.41", name: "new", firstWave: 8, lastWave: 8, change: "joins" },
      { node: "10.0.0.13", name: "old", firstWave: 10, lastWave: 10, change: "leaves" },
    ]);
    const report = { rollout: order } as DiffReport;
    expect(rolloutLines(report)).toEqual([
      "waves 3–9: cp-1 (10.0.0.11)",
      "waves 6–7: 10.0.0.31, 10.0.0.32",
      "wave 8 (joins): new (10.0.0.41)",
      "wave 10 (leaves): old (10.0.0.13)",
    ]);
  });
});

describe("escaping", () => {
  const report: DiffReport = {
    stack: "infra",
    base: "main",
    steps: [
      {
        urn: "urn:x",
        type: "kubernetes:helm.sh/v3:Release",
        name: "odd|name`",
        op: "update",
        changed: ["version"],
        reason: "inputs changed ```",
        effects: [],
        wave: 1,
      },
    ],
    previewCalls: [],
    versions: [{ what: "chart odd|name`", from: "1.0.0|x", to: "<2.0.0>" }],
    rollout: [],
    protection: [{ name: "a|b`c", protect: false }],
    warnings: [{ urn: "", message: "pipes | and `ticks` and <b>tags</b> & *stars* [links](x)" }],
    errors: [],
  };
  const markdown = diffMarkdown({ report, steps: [], state: { label: "", resources: [], invokes: [] } }, { budget: 10_000, fullCommand });
  const summary = summaryOf(markdown).split("\n");

  it("a pipe or backtick in a name or a version keeps the table at two cells a row", () => {
    const table = summary.filter((l) => l.startsWith("|"));
    expect(table).toHaveLength(3);
    for (const row of table) expect(cells(row)).toHaveLength(2);
    expect(table[2] && cells(table[2]).map((c) => unescaped(c.trim()))).toEqual(["chart odd|name`", "1.0.0|x → <2.0.0>"]);
  });

  it("messages and names read as written: no code span, tag, emphasis or link forms from them", () => {
    const warning = summary.find((l) => l.startsWith("- "));
    expect(warning && unescaped(warning.slice(2))).toBe(report.warnings[0]?.message);
    // Every backtick, angle bracket, star and bracket of the message is escaped.
    expect(warning?.match(/(?<!\\)[`<>*[\]|&]/g)).toBeNull();
    const protection = summary.find((l) => l.startsWith("**Protection**"));
    expect(protection && unescaped(protection)).toContain("unprotect a|b`c");
    expect(protection?.match(/(?<!\\)[`|]/g)).toBeNull();
  });

  it("a fence in the detail gets a longer fence around it", () => {
    expect(markdown).toContain("\n````text\n");
    expect(markdown).toContain("(inputs changed ```)\n");
    expect(markdown).toContain("\n````\n\n</details>");
  });
});

describe("npm run plan -- <stack> --diff <base> --markdown", () => {
  let dir: string;
  let baseFile: string;
  const where = () => ({ projectDir: dir, entry: path.join(repoRoot, "index") });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-markdown-"));
    for (const f of ["Pulumi.yaml", "Pulumi.infra.yaml", "Pulumi.apps.yaml"]) fs.copyFileSync(path.join(fixtureDir, f), path.join(dir, f));
    baseFile = path.join(dir, "base.json");
    const { code, out } = await runPlan(["infra", "--json"], where());
    expect(code).toBe(0);
    fs.writeFileSync(baseFile, out);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a skipped Talos minor: the refusal comes first, and the exit code says refused, as the text form's does", async () => {
    const file = path.join(dir, "Pulumi.infra.yaml");
    const before = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, before.replace("version: v1.11.6", "version: v1.13.9"));
    try {
      const markdown = await runPlan(["infra", "--diff", baseFile, "--markdown"], where());
      expect(markdown.code).toBe(1);
      const lines = markdown.out.split("\n").filter((l) => l !== "");
      expect(lines.slice(0, 3)).toEqual([
        "### `plan --diff` of stack `infra` against `base.json`",
        "**Refused: `pulumi up` would fail** (1)",
        "- versions: refused version change: Pulumi.infra.yaml talos.version: v1.11.6 → v1.13.9 skips v1.12: upgrade one minor at a time",
      ]);
      expect((await runPlan(["infra", "--diff", baseFile], where())).code).toBe(markdown.code);
    } finally {
      fs.writeFileSync(file, before);
    }
  });

  it("renders a config the program refuses as the comment's content, exit 1", async () => {
    const file = path.join(dir, "Pulumi.infra.yaml");
    const before = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, before.replace("ip: 10.25.11.13", "ip: 10.25.12.13"));
    try {
      const { code, out } = await runPlan(["infra", "--diff", baseFile, "--markdown"], where());
      expect(code).toBe(1);
      expect(out).toContain("**The program refuses the stack's config: nothing to diff.**\n\n- Pulumi.infra.yaml");
      expect(out).toContain("10.25.12.13 is outside the node subnet 10.25.11.0/24");
    } finally {
      fs.writeFileSync(file, before);
    }
  });

  it("with --json or --graph, or without --diff, is a usage error naming the flags (exit 2), before anything runs", async () => {
    const json = await runPlan(["infra", "--diff", baseFile, "--markdown", "--json"], where());
    expect(json).toMatchObject({ code: 2, out: "" });
    expect(json.err).toMatch(/^plan: --markdown and --json are different outputs: pass one\nusage: npm run plan/);
    const graph = await runPlan(["infra", "--diff", baseFile, "--markdown", "--graph", "mermaid"], where());
    expect(graph).toMatchObject({ code: 2, out: "" });
    expect(graph.err).toContain("plan: --markdown and --graph are different outputs: pass one\n");
    expect((await runPlan(["infra", "--markdown"], where())).err).toContain("plan: --markdown renders a --diff: pass --diff <base>\n");
    expect((await runPlan(["infra", "--diff", baseFile, "--markdown-budget", "5000"], where())).code).toBe(2);
    expect((await runPlan(["infra", "--diff", baseFile, "--markdown", "--markdown-budget", "lots"], where())).code).toBe(2);
  });
});
