import * as fs from "fs";
import * as path from "path";
import { main as plan } from "../plan/cli";

/**
 * The README and docs/ stay walkable: every relative link reaches a file (and a heading, when it
 * names one), every `npm run <script>` is a script of package.json, and every flag given to
 * `npm run plan` is one the CLI's usage text lists.
 */
const repoRoot = path.resolve(__dirname, "..");

/** Flags of other tools quoted on their own in the pages (they are not `npm run plan`'s). */
const otherToolsFlags = new Set(["--ca-reuse-secret"]);

function pages(): string[] {
  const docs = fs.existsSync(path.join(repoRoot, "docs"))
    ? fs
        .readdirSync(path.join(repoRoot, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`)
    : [];
  const readmes = ["contracts", "lib", "tools", "plan/record", "plan/model", "plan/report"]
    .map((d) => `${d}/README.md`)
    .filter((f) => fs.existsSync(path.join(repoRoot, f)));
  return ["README.md", ...docs, ...readmes];
}

const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), "utf8");
const withoutCodeBlocks = (text: string) => text.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of withoutCodeBlocks(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = (heading ?? "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Relative links of a page that lead nowhere: a missing file, or a heading the target lacks. */
export function brokenLinks(file: string, text: string, exists: (f: string) => boolean, readTarget: (f: string) => string): string[] {
  const broken: string[] = [];
  for (const [, target] of withoutCodeBlocks(text).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (!target || /^[a-z]+:/i.test(target)) continue;
    const [rel, anchor] = target.split("#") as [string, string | undefined];
    const resolved = rel === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), rel));
    if (!exists(resolved)) {
      broken.push(`${file}: ${target} (no ${resolved})`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith(".md") && !anchors(readTarget(resolved)).has(anchor)) {
      broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
    }
  }
  return broken;
}

/** `npm run <script>` (and `npm test`) named in a page. */
export function scriptsNamed(text: string): string[] {
  const run = [...text.matchAll(/npm run(?: -s)? ([a-z][\w:-]*)/g)].map((m) => m[1] ?? "");
  return [...run, ...[...text.matchAll(/npm test\b/g)].map(() => "test")];
}

/** Flags given to `npm run plan`: in each code span or code-block line that runs it, and code spans that are a flag alone. */
export function planFlagsNamed(text: string): string[] {
  const pieces = [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? "");
  const blockLines = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].flatMap((m) => (m[1] ?? "").split("\n"));
  const flags: string[] = [];
  for (const piece of [...pieces, ...blockLines]) {
    if (/npm run(?: -s)? plan\b/.test(piece)) flags.push(...[...piece.matchAll(/(?<![\w-])--[a-z][\w-]*/g)].map((m) => m[0]));
  }
  for (const piece of pieces) {
    const alone = /^(--[a-z][\w-]*)/.exec(piece);
    if (alone?.[1] && !otherToolsFlags.has(alone[1])) flags.push(alone[1]);
  }
  return flags;
}

async function planUsage(): Promise<string> {
  let written = "";
  const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    written += String(chunk);
    return true;
  });
  try {
    expect(await plan([])).not.toBe(0);
  } finally {
    spy.mockRestore();
  }
  return written;
}

describe("README and docs/", () => {
  it("README is a front door of at most 250 lines with the set-up and test commands", () => {
    const readme = read("README.md");
    expect(readme.split("\n").length).toBeLessThanOrEqual(250);
    expect(readme).toContain("npm ci && npm test");
    expect(readme).toContain("pulumi up --stack infra");
  });

  it("every relative link resolves to a file, and to a heading when it names one", () => {
    const exists = (f: string) => fs.existsSync(path.join(repoRoot, f));
    const files = pages();
    expect(files).toEqual(expect.arrayContaining(["README.md", "docs/configuration.md", "docs/operations.md", "docs/architecture.md"]));
    expect(files.flatMap((f) => brokenLinks(f, read(f), exists, read))).toEqual([]);
  });

  it("every npm script named exists in package.json", () => {
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
    const named = pages().flatMap((f) => scriptsNamed(read(f)).map((s) => `${f}: ${s}`));
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((n) => !(n.slice(n.indexOf(": ") + 2) in scripts))).toEqual([]);
  });

  it("every flag given to npm run plan is in the CLI's usage text", async () => {
    const usage = await planUsage();
    expect(usage).toContain("usage: npm run plan");
    const flags = pages().flatMap((f) => planFlagsNamed(read(f)).map((flag) => `${f}: ${flag}`));
    expect(flags.length).toBeGreaterThan(5);
    expect(flags.filter((n) => !new RegExp(`(?<![\\w-])${n.slice(n.indexOf(": ") + 2)}(?![\\w-])`).test(usage))).toEqual([]);
  });
});

describe("the docs checks themselves", () => {
  const files: Record<string, string> = { "docs/a.md": "# Title\n## Day-2 changes: `x`\n## Day-2 changes: `x`\n", "README.md": "" };
  const exists = (f: string) => f in files;
  const readTarget = (f: string) => files[f] ?? "";

  it("finds a missing file, a missing heading, and passes good links (anchors as GitHub makes them)", () => {
    const text =
      "[a](docs/a.md) [b](docs/a.md#day-2-changes-x) [c](docs/a.md#day-2-changes-x-1) [d](docs/b.md) [e](docs/a.md#nope) [f](https://x.y/z)";
    expect(brokenLinks("README.md", text, exists, readTarget)).toEqual([
      "README.md: docs/b.md (no docs/b.md)",
      "README.md: docs/a.md#nope (no heading #nope in docs/a.md)",
    ]);
  });

  it("ignores links inside code blocks", () => {
    expect(brokenLinks("README.md", "```\n[x](missing.md)\n```\n", exists, readTarget)).toEqual([]);
  });

  it("reads scripts and plan flags from spans and code blocks", () => {
    const text =
      "`npm run -s plan -- x --diff main --bogus` and `--json`, `--ca-reuse-secret`\n```sh\nnpm run bench # and npm test\nnpm run plan -- y --graph mermaid\n```\n";
    expect(scriptsNamed(text).sort()).toEqual(["bench", "plan", "plan", "test"]);
    expect(planFlagsNamed(text).sort()).toEqual(["--bogus", "--diff", "--graph", "--json"]);
  });
});
