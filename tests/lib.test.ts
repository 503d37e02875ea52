import * as fs from "fs";
import * as path from "path";
import { policyCopies, policyCopyText } from "../lib/policyCopy";
import { importsOf, repoRoot, tsFiles } from "./imports";

describe("lib/: the pure helpers stacks/ and policy/ share", () => {
  it("stacks/ imports nothing from policy/", () => {
    const wrong = tsFiles("stacks").flatMap((f) =>
      importsOf(f)
        .filter((t) => t.startsWith("policy/"))
        .map((t) => `${f} → ${t}`),
    );
    expect(wrong).toEqual([]);
  });

  it("lib/ imports nothing outside lib/, so any folder may use it", () => {
    const wrong = tsFiles("lib").flatMap((f) =>
      importsOf(f)
        .filter((t) => !t.startsWith("lib/"))
        .map((t) => `${f} → ${t}`),
    );
    expect(wrong).toEqual([]);
  });

  it.each(policyCopies)("policy/'s copy of $source is its source unchanged (run `npm run schema`)", ({ source, copy }) => {
    const expected = policyCopyText(source, fs.readFileSync(path.join(repoRoot, source), "utf8"));
    expect(fs.readFileSync(path.join(repoRoot, copy), "utf8")).toBe(expected);
  });

  it("policy/ imports lib/'s helpers through its copies only", () => {
    const copies = new Set(policyCopies.map((c) => c.copy));
    const used = tsFiles("policy")
      .flatMap(importsOf)
      .filter((t) => copies.has(t));
    expect(used.length).toBeGreaterThan(0);
  });
});
