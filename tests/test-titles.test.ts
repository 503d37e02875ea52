import * as fs from "fs";
import * as path from "path";

/**
 * jest renders a table test's title with printf placeholders filled from the row's columns, in order
 * (jest-each src/table/array.ts, jest 29): a row of one value fills only the first placeholder and
 * leaves the others in the title as they are, e.g. a literal `%s`. Titles are checked here where the
 * row shape is visible in the source: tables of plain names (the stack lists, a list of strings).
 */
const testsDir = __dirname;
const singleColumnTables =
  /(?:it|test|describe)\.each\((stacks|liveStacks|talosMinors|\[(?:\s*"[^"]*",?)+\s*\](?: as const)?)\)\(\s*"([^"]*)"/g;
const placeholders = /%[sdifjo#p]/g;

function overfilledTitles(source: string): string[] {
  return [...source.matchAll(singleColumnTables)].filter((m) => (m[2]!.match(placeholders) ?? []).length > 1).map((m) => m[2]!);
}

describe("test titles", () => {
  it("finds a one-column table whose title has two placeholders (so the check below can fail)", () => {
    expect(overfilledTitles('it.each(liveStacks)("policy/config/%s.json matches Pulumi.%s.yaml", (s) => {})')).toEqual([
      "policy/config/%s.json matches Pulumi.%s.yaml",
    ]);
    expect(overfilledTitles('it.each(liveStacks.map((s) => [s, s]))("a %s b %s", () => {})')).toEqual([]);
  });

  it("no one-column table title leaves a placeholder unfilled", () => {
    const files = fs.readdirSync(testsDir).filter((f) => f.endsWith(".test.ts") && f !== path.basename(__filename));
    const found = files.flatMap((f) => overfilledTitles(fs.readFileSync(path.join(testsDir, f), "utf8")).map((t) => `${f}: ${t}`));
    expect(found).toEqual([]);
  });
});
