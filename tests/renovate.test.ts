import * as fs from "fs";
import * as path from "path";
import { versions } from "../stacks/versions";
import { repoRoot } from "./support";

interface Manager {
  fileMatch: string[];
  matchStrings: string[];
  depNameTemplate: string;
}

/** Every version string in stacks/versions.ts, by its key path (URLs and chart sources are not versions). */
function pins(value: unknown, at: string[] = []): Array<{ path: string; key: string; value: string }> {
  if (typeof value === "string") return /^v?\d+\.\d+(\.\d+)?/.test(value) ? [{ path: at.join("."), key: at[at.length - 1]!, value }] : [];
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([k, v]) => pins(v, [...at, k]));
  return [];
}

describe("renovate.json keeps every pin of stacks/versions.ts current", () => {
  const config = JSON.parse(fs.readFileSync(path.join(repoRoot, "renovate.json"), "utf8")) as { customManagers: Manager[] };
  const file = "stacks/versions.ts";
  const text = fs.readFileSync(path.join(repoRoot, file), "utf8");
  // Renovate's regex managers take ECMAScript regexes with named groups, as here.
  const matchesOf = (m: Manager) =>
    m.fileMatch.some((f) => new RegExp(f).test(file)) ? m.matchStrings.flatMap((s) => [...text.matchAll(new RegExp(s, "g"))]) : [];

  it.each(pins(versions).map((p) => [p.path, p] as const))("%s is matched by exactly one manager, with its current value", (_path, pin) => {
    const hits = config.customManagers.flatMap((m) =>
      matchesOf(m).map((match) => ({ dep: m.depNameTemplate, key: /(\w+):/.exec(match[0])?.[1], value: match.groups?.currentValue })),
    );
    const forThis = hits.filter((h) => h.key === pin.key);
    expect(forThis.map((h) => h.value)).toEqual([pin.value]);
  });

  it("every manager matches exactly one line (a renamed key would otherwise go stale silently)", () => {
    for (const m of config.customManagers)
      expect({ dep: m.depNameTemplate, matches: matchesOf(m).length }).toEqual({ dep: m.depNameTemplate, matches: 1 });
    expect(config.customManagers).toHaveLength(pins(versions).length);
  });
});
