import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * The version of a provider's logic: a hash of its modules and every local module they import,
 * transitively (read from the source, so it is the same under ts-node, jest and the offline plan),
 * by path relative to the project root so that a clone elsewhere has the same version. Type-only
 * imports are left out: they change no behaviour. Packages under node_modules are not hashed: their
 * versions are pinned in package.json.
 */
export function logicVersion(files: readonly string[], root: string): string {
  const hash = createHash("sha256");
  for (const source of [...localClosure(files)].sort()) {
    hash.update(path.relative(root, source).split(path.sep).join("/")).update("\0").update(fs.readFileSync(source)).update("\0");
  }
  return `sha256:${hash.digest("hex").slice(0, 16)}`;
}

// `import … from "./x"`, `export … from "./x"`, `import "./x"`, `require("./x")`, `import("./x")`; not `import type`/`export type`.
const specifiers =
  /(?:^|[;\n]\s*)(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+["'](\.[^"']+)["']|\bimport\s+["'](\.[^"']+)["']|\b(?:require|import)\(\s*["'](\.[^"']+)["']\s*\)/g;

function localClosure(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...entries];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, "utf8");
    for (const match of text.matchAll(specifiers)) {
      const resolved = resolveLocal(path.dirname(file), match[1] ?? match[2] ?? match[3] ?? "");
      if (resolved) pending.push(resolved);
    }
  }
  return seen;
}

function resolveLocal(dir: string, specifier: string): string | undefined {
  const base = path.resolve(dir, specifier);
  const candidates = [base, `${base}.ts`, `${base}.js`, `${base}.json`, path.join(base, "index.ts"), path.join(base, "index.js")];
  return candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}
