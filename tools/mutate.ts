import * as fs from "fs";
import * as path from "path";

/**
 * `npm run mutate [-- <area> ...]`: Stryker mutation testing, one run per area, each area's modules
 * against the tests written for them (per-test coverage, so a mutant runs only the tests that reach
 * it). Reports go to reports/mutation/<area>/ (ignored by git); the last lines print the score per
 * module. Too slow for CI (tens of minutes on 2 cores); run it when you change an area's logic or
 * its tests, and update the scores in docs/testing.md.
 */
export const areas: Readonly<Record<string, { mutate: string[]; tests: string[] }>> = {
  stacks: {
    mutate: ["stacks/rules.ts", "stacks/versions.ts", "lib/ipv4.ts", "stacks/placeholders.ts", "stacks/newStack.ts"],
    // Pure tests only: bad-input runs the whole program per case, too slow to run per mutant.
    tests: ["rules", "stack-config", "new-stack", "versions"],
  },
  patches: {
    mutate: ["components/talos/patches/**/*.ts"],
    tests: ["talos-patches", "talos-patches-contract", "talos-patches-equivalence", "talos-patches-expected", "talos-patches-mutants"],
  },
  charts: {
    mutate: [
      "components/bootstrap/cilium.ts",
      "components/bootstrap/coredns.ts",
      "components/bootstrap/certManager.ts",
      "components/bootstrap/externalSecrets.ts",
      "components/flux/clusterSettings.ts",
      "components/flux/fluxInstance.ts",
      "components/flux/handoverCriteria.ts",
      "components/cloudflare/edge.ts",
    ],
    // The pure values functions only, against their pure tests: the program tests (bootstrap,
    // cloudflare, chart-values, crd-contract) record whole programs, seconds per mutant. How the
    // components wire these values (fluxHandover.ts included) is theirs to cover, not this area's.
    tests: ["values-functions"],
  },
  // The rules over hand-built args only: policy.test.ts records whole stacks (seconds per mutant), and
  // policy-pack installs the packed pack elsewhere and spawns it, which Stryker's sandbox cannot serve.
  policy: { mutate: ["policy/network.ts", "policy/secrets.ts", "policy/values.ts", "policy/ipv6.ts"], tests: ["policy-rules"] },
  // The models on hand-built graphs: the program-level tests (plan, lifecycle, diff) take minutes per run.
  plan: { mutate: ["plan/model/steps.ts", "plan/model/bringUp.ts", "plan/report/secrecy.ts"], tests: ["plan-model"] },
  // The day-2 rules: what upgrades and removals allow, quorum, the retry loop, the versions record.
  lifecycle: {
    mutate: [
      "components/talos/lifecycle/upgradePlan.ts",
      "components/talos/lifecycle/quorum.ts",
      "components/talos/lifecycle/versionGuardProvider.ts",
      "components/talos/machineApi/retry.ts",
    ],
    tests: ["upgrade-plan", "version-guard", "lifecycle-rules"],
  },
  // The day-2 sequencing against the fake apid and Kubernetes API (real gRPC and HTTP on loopback):
  // seconds per mutant, so split in three areas of under an hour each. The tests are the flows that
  // reach each module (per-test coverage runs only those); the *-provider tests spawn the serialized
  // providers in other processes, whose code runs without Stryker's active mutant: they are in `providers`.
  "sequencing-etcd": {
    mutate: [
      "components/talos/lifecycle/etcdPreflight.ts",
      "components/talos/lifecycle/etcdLeave.ts",
      "components/talos/lifecycle/sentOnce.ts",
    ],
    tests: ["etcd-steps", "node-removal", "node-removal-etcd", "os-upgrade", "os-upgrade-safety"],
  },
  "sequencing-drain": {
    mutate: ["components/talos/lifecycle/drain.ts", "components/talos/lifecycle/kubernetesComponents.ts"],
    tests: ["drain-decisions", "kube-drain", "kubernetes-components", "node-removal", "os-upgrade-safety"],
  },
  "sequencing-flows": {
    mutate: ["components/talos/lifecycle/osUpgrade.ts", "components/talos/lifecycle/nodeRemoval.ts"],
    tests: ["flow-steps", "os-upgrade", "os-upgrade-safety", "node-removal", "node-removal-etcd", "kube-drain"],
  },
  // The dynamic providers' create/update/read/delete logic, called in-process as the engine's host
  // calls it (the tests that spawn the host run alongside; they cannot see a mutant, see above).
  // thin-provider is not among them: it copies the project with `git ls-files`, and Stryker's sandbox
  // is no git checkout; provider-steps drives thinRuntime in-process instead.
  providers: {
    mutate: [
      "components/talos/lifecycle/nodeGateProvider.ts",
      "components/talos/lifecycle/osUpgradeProvider.ts",
      "components/talos/lifecycle/nodeMembershipProvider.ts",
      "components/talos/lifecycle/clusterHealthProvider.ts",
      "components/talos/lifecycle/clusterReadyProvider.ts",
      "components/dynamic/thinRuntime.ts",
    ],
    tests: [
      "provider-steps",
      "provider-calls",
      "node-gate",
      "node-gate-rolling",
      "node-rename",
      "os-upgrade-provider",
      "node-removal-provider",
      "cluster-health",
      "machine-api-roles",
    ],
  },
};

type Report = { files: Record<string, { mutants: Array<{ status: string }> }> };

interface ModuleScore {
  readonly file: string;
  readonly killed: number;
  readonly survived: number;
  readonly noCoverage: number;
  readonly timeout: number;
}

/** Mutation score per file from Stryker's JSON report (killed + timeout over all valid mutants). */
export function scoresFromReport(report: Report): ModuleScore[] {
  return Object.entries(report.files).map(([file, { mutants }]) => {
    const count = (status: string) => mutants.filter((m) => m.status === status).length;
    return { file, killed: count("Killed"), survived: count("Survived"), noCoverage: count("NoCoverage"), timeout: count("Timeout") };
  });
}

export function scoreOf(s: Pick<ModuleScore, "killed" | "survived" | "noCoverage" | "timeout">): number {
  const valid = s.killed + s.survived + s.noCoverage + s.timeout;
  return valid === 0 ? 100 : (100 * (s.killed + s.timeout)) / valid;
}

/**
 * The incremental file without the mutants that were not detected, so every run tests its survivors
 * afresh: the jest runner reports where a test starts, not where it ends, so Stryker's incremental
 * differ can take a test edited in place for unchanged and keep a stale "survived".
 */
export function keepingOnlyDetected<T extends Report>(report: T): T {
  const detected = new Set(["Killed", "Timeout"]);
  const files = Object.fromEntries(
    Object.entries(report.files).map(([file, entry]) => [file, { ...entry, mutants: entry.mutants.filter((m) => detected.has(m.status)) }]),
  );
  return { ...report, files };
}

async function main(requested: string[]): Promise<void> {
  const root = path.resolve(__dirname, "..");
  const unknown = requested.filter((a) => !(a in areas));
  if (unknown.length > 0) throw new Error(`unknown area ${unknown.join(", ")}; areas: ${Object.keys(areas).join(", ")}`);
  // Stryker's typings resolve only under node16 module resolution; the part used here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Stryker } = require("@stryker-mutator/core") as {
    Stryker: new (options: Record<string, unknown>) => { runMutationTest(): Promise<unknown> };
  };
  const lines: string[] = [];
  for (const area of requested.length > 0 ? requested : Object.keys(areas)) {
    const { mutate, tests } = areas[area]!;
    // Exact files: a prefix would also pick up tests that cannot run in Stryker's sandbox.
    const testMatch = tests.map((t) => `<rootDir>/tests/${t}.test.ts`);
    const reportDir = path.join("reports", "mutation", area);
    const incrementalFile = path.join(reportDir, "stryker-incremental.json");
    if (fs.existsSync(path.join(root, incrementalFile))) {
      const previous = JSON.parse(fs.readFileSync(path.join(root, incrementalFile), "utf8")) as Report;
      fs.writeFileSync(path.join(root, incrementalFile), JSON.stringify(keepingOnlyDetected(previous)));
    }
    await new Stryker({
      testRunner: "jest",
      plugins: ["@stryker-mutator/jest-runner"],
      jest: { projectType: "custom", configFile: "jest.config.js", config: { testMatch }, enableFindRelatedTests: false },
      coverageAnalysis: "perTest",
      mutate,
      ignoreStatic: true,
      concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
      // Beyond the covering tests' own time: a mutant that makes a wait loop spin is a timeout (detected), fast.
      timeoutMS: 15_000,
      reporters: ["html", "json", "clear-text", "dots"],
      htmlReporter: { fileName: path.join(reportDir, "index.html") },
      jsonReporter: { fileName: path.join(reportDir, "mutation.json") },
      // Incremental: a re-run tests only mutants whose code or covering tests changed since the last
      // run's report, and the survivors (MUTATE_FORCE=1 runs them all): adding tests stays affordable.
      incremental: true,
      incrementalFile,
      force: process.env.MUTATE_FORCE === "1",
      tempDirName: path.join("reports", ".stryker-tmp"),
      cleanTempDir: "always",
    }).runMutationTest();
    const report = JSON.parse(fs.readFileSync(path.join(root, reportDir, "mutation.json"), "utf8"));
    for (const s of scoresFromReport(report))
      lines.push(
        `${area.padEnd(8)} ${s.file.padEnd(48)} ${scoreOf(s).toFixed(1).padStart(5)}%  (${s.survived} survived, ${s.noCoverage} uncovered)`,
      );
  }
  console.log(["", "mutation score per module:", ...lines].join("\n"));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
