import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const run = promisify(execFile);

/** `--diff <base>` names neither a file nor a commit: a typo, not an empty stack. */
export class BaseNotFound extends Error {}

/**
 * The `plan --json` document of a stack as of a git ref: the stack file and the code at that ref,
 * planned in a temporary detached worktree that borrows this checkout's node_modules, then
 * removed. Undefined when the stack has no stack file at that ref (a new stack); BaseNotFound when
 * the ref is no commit at all.
 */
export async function planAtRef(repoDir: string, ref: string, stack: string): Promise<unknown> {
  const top = (await run("git", ["rev-parse", "--show-toplevel"], { cwd: repoDir })).stdout.trim();
  // The base's CLI plans its own checkout's stack files, so only the repository's project can be the base.
  if (fs.realpathSync(top) !== fs.realpathSync(repoDir))
    throw new Error(`a git ref base needs the project at the repository root (${top})`);
  try {
    await run("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd: top });
  } catch {
    throw new BaseNotFound(`--diff ${ref}: no such file, and no such git ref (commit, branch or tag) in ${top}`);
  }
  try {
    await run("git", ["cat-file", "-e", `${ref}:Pulumi.${stack}.yaml`], { cwd: top });
  } catch {
    return undefined;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-base-"));
  const tree = path.join(dir, "tree");
  await run("git", ["worktree", "add", "--detach", tree, ref], { cwd: top });
  try {
    fs.symlinkSync(fs.realpathSync(path.join(top, "node_modules")), path.join(tree, "node_modules"), "dir");
    const tsNode = path.join(tree, "node_modules", ".bin", "ts-node");
    // The base's own plan, with its own harness: exit 1 with a document still carries { errors }.
    const result = await run(tsNode, ["--transpile-only", "plan/cli.ts", stack, "--json"], {
      cwd: tree,
      maxBuffer: 256 * 1024 * 1024,
    }).catch((e: { stdout?: string; stderr?: string }) => e);
    const document: unknown = JSON.parse(result.stdout || "null");
    if (document === null || (typeof document === "object" && "errors" in document)) {
      throw new Error(`the plan of ${stack} at ${ref} failed: ${result.stdout || result.stderr || "no output"}`);
    }
    return document;
  } finally {
    await run("git", ["worktree", "remove", "--force", tree], { cwd: top }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
