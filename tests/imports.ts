import * as fs from "fs";
import * as path from "path";

/** Reading the sources' own imports, for the tests that hold which folder may import which. */
export const repoRoot = path.resolve(__dirname, "..");

/** Every .ts file under a folder, repository-relative with forward slashes. */
export function tsFiles(dir: string): string[] {
  return fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === "node_modules" ? [] : tsFiles(rel);
    return e.name.endsWith(".ts") ? [rel] : [];
  });
}

/** The repository-relative files a source imports by relative path (`from "./x"`, `import("./x")`, `require("./x")`). */
export function localImports(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)"(\.{1,2}\/[^"]*)"/g)].map((m) => m[1] ?? "");
  return specs.map((spec) => {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    return [`${target}.ts`, `${target}/index.ts`].find((f) => fs.existsSync(path.join(repoRoot, f))) ?? target;
  });
}

/** The local imports of one repository file. */
export const importsOf = (file: string) => localImports(file, fs.readFileSync(path.join(repoRoot, file), "utf8"));
