import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { packPolicies } from "../plan/report/policy";
import { repoRoot } from "./support";

/* The generated analyzer stubs ship without typings we can import cleanly; the shapes used here. */
interface AnalyzerInfo {
  getName(): string;
  getPoliciesList(): Array<{ getName(): string; getEnforcementlevel(): number }>;
}
type AnalyzerClient = grpc.Client & {
  getAnalyzerInfo(request: unknown, callback: (error: grpc.ServiceError | null, info: AnalyzerInfo) => void): void;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as {
  AnalyzerClient: new (address: string, creds: grpc.ChannelCredentials) => AnalyzerClient;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Empty } = require("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => unknown };

/**
 * `pulumi policy publish` ships the policy folder as `npm pack` makes it; the analyzer then runs the
 * pack from that copy alone. So: pack it, unpack it somewhere else, start its analyzer the way the
 * policy plugin does (the pack's index.ts under ts-node; it serves gRPC on 127.0.0.1 and prints the
 * port), and ask it over the real Analyzer protocol which policies it holds.
 */
describe("the published policy pack", () => {
  let dir: string;
  let analyzer: ChildProcess | undefined;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-pack-"))));
  afterAll(() => {
    analyzer?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("imports nothing outside policy/", () => {
    for (const file of fs.readdirSync(path.join(repoRoot, "policy")).filter((f) => f.endsWith(".ts"))) {
      const text = fs.readFileSync(path.join(repoRoot, "policy", file), "utf8");
      expect({ file, outside: [...text.matchAll(/from "(\.\.\/[^"]*)"/g)].map((m) => m[1]) }).toEqual({ file, outside: [] });
    }
  });

  it("loads from its npm pack tarball and serves every rule over the Analyzer protocol", async () => {
    const pack = spawnSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: path.join(repoRoot, "policy"), encoding: "utf8" });
    expect(pack.status).toBe(0);
    const [{ filename }] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
    expect(spawnSync("tar", ["-xzf", path.join(dir, filename), "-C", dir]).status).toBe(0);
    const unpacked = path.join(dir, "package");
    expect(fs.readdirSync(unpacked).sort()).toEqual(
      [
        "PulumiPolicy.yaml",
        "config",
        "facts.ts",
        "index.ts",
        "ipv4.ts",
        "ipv6.ts",
        "network.ts",
        "package.json",
        "platform.ts",
        "secrets.ts",
        "tsconfig.json",
        "values.ts",
      ].sort(),
    );
    // The pack's own dependencies (@pulumi/policy, yaml) at the versions this repository pins too.
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(unpacked, "node_modules"), "dir");

    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], {
      cwd: unpacked,
      stdio: ["ignore", "pipe", "pipe"],
    });
    analyzer = child;
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => reject(new Error(`analyzer printed no port within 30s: ${err}`)), 30_000);
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const line = /^(\d+)\n/.exec(out);
        if (line?.[1]) {
          clearTimeout(timer);
          resolve(line[1]);
        }
      });
      child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
      child.on("exit", (code) => reject(new Error(`analyzer exited with ${code}: ${err}`)));
    });

    const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const info = await new Promise<AnalyzerInfo>((resolve, reject) =>
        client.getAnalyzerInfo(new Empty(), (error, response) => (error ? reject(error) : resolve(response))),
      );
      expect(info.getName()).toBe("talos-gitops");
      expect(
        info
          .getPoliciesList()
          .map((p) => p.getName())
          .sort(),
      ).toEqual(packPolicies.map((p) => p.name).sort());
    } finally {
      client.close();
    }
  });
});
