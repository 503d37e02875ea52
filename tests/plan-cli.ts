import { main } from "../plan/cli";

/** Runs `npm run plan -- <argv>` in-process and captures what it prints and its exit code. */
export async function runPlan(
  argv: string[],
  where: { projectDir?: string; entry?: string },
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const write = (sink: "out" | "err") => (chunk: string | Uint8Array) => (
    sink === "out" ? (out += String(chunk)) : (err += String(chunk)),
    true
  );
  const stdout = jest.spyOn(process.stdout, "write").mockImplementation(write("out"));
  const stderr = jest.spyOn(process.stderr, "write").mockImplementation(write("err"));
  try {
    return { code: await main(argv, where), out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}
