import * as fs from "fs";
import * as path from "path";
import { clusterFacts, packPolicies, policyConfigFile, policyPackConfig, runPolicyPack } from "../plan/report/policy";
import type { ClusterFacts } from "../policy/facts";
import { fixture, liveStacks, recordFixture, recordWith, repoRoot, stacks } from "./support";
import { clusterFromStackFile, readStackFile } from "../stacks/stackFile";

/** The pack over recorded stacks; each rule alone over hand-built args is tests/policy-rules.test.ts. */
describe("the rules over recorded stacks", () => {
  it("see a KubePrism/endpoint mismatch between the stack's facts and what Cilium was given", async () => {
    const r = await recordWith("infra", (c) => (c.cilium.apiServerAccess = "endpoint"));
    const asRecorded = clusterFacts({ ...fixture("infra"), cilium: { ...fixture("infra").cilium, apiServerAccess: "endpoint" } });
    const ok = await runPolicyPack(r, asRecorded);
    expect(ok.violations.filter((v) => v.policy === "cilium-api-server-access")).toEqual([]);
    const stale = await runPolicyPack(r, clusterFacts(fixture("infra")));
    expect(stale.violations.filter((v) => v.policy === "cilium-api-server-access").map((v) => v.message)).toEqual(
      Array(3).fill(
        "Cilium's k8sServiceHost/Port is infra-k8s.monosense.io:6443, but KubePrism is on (port 7445): it must be 127.0.0.1:7445",
      ),
    );
  });

  it("report a schematic's weakened kernel arguments as advisories, except those the cluster accepts with a reason", async () => {
    const r = await recordFixture({ stack: "infra" });
    const accepted = clusterFacts(fixture("infra"));
    expect(Object.values(accepted.acceptedKernelArgs).every((reason) => reason.length > 20)).toBe(true);
    const kernel = async (f: ClusterFacts) => (await runPolicyPack(r, f)).violations.filter((v) => v.policy === "talos-kernel-hardening");
    expect(await kernel(accepted)).toEqual([]);
    const none = await kernel({ ...accepted, acceptedKernelArgs: {} });
    expect(none.map((v) => v.message)).toContain("kernel argument mitigations=off turns off CPU vulnerability mitigations");
    expect(none.every((v) => v.level === "advisory")).toBe(true);
    // Near miss: accepting one argument leaves the others reported.
    const allButOne = Object.fromEntries(Object.entries(accepted.acceptedKernelArgs).filter(([arg]) => arg !== "mitigations=off"));
    expect((await kernel({ ...accepted, acceptedKernelArgs: allButOne })).map((v) => v.message)).toEqual([
      "kernel argument mitigations=off turns off CPU vulnerability mitigations",
    ]);
  });
});

describe("the pack over the real stacks", () => {
  it("registers every rule with an id, a description and an enforcement level", () => {
    expect(packPolicies.map((p) => p.name)).toHaveLength(18);
    for (const p of packPolicies) expect(p.description.length > 10 && p.enforcementLevel !== undefined).toBe(true);
  });

  it("exempts namespaces from default-deny only with a reason (spegel for its hostPort)", () => {
    const exempt = clusterFacts(fixture("infra")).networkPolicyExempt;
    expect(exempt.spegel).toContain("hostPort");
    expect(Object.entries(exempt).filter(([, reason]) => reason.length < 20)).toEqual([]);
  });

  it.each(stacks)("%s has no mandatory violation", async (stack) => {
    const r = await recordFixture({ stack });
    const report = await runPolicyPack(r, clusterFacts(fixture(stack)));
    expect(report.violations.filter((v) => v.level === "mandatory")).toEqual([]);
  });

  it("finds a planted violation in a real stack's graph", async () => {
    const r = await recordFixture({ stack: "infra" });
    const otherZone = {
      ...clusterFacts(fixture("infra")),
      zoneId: "ffffffffffffffffffffffffffffffff",
    };
    const report = await runPolicyPack(r, otherZone);
    expect(report.violations.filter((v) => v.policy === "cloudflare-token-scope")).toHaveLength(2);
  });

  // Two columns: jest fills each %s from its own column, so one column would leave the second literal.
  it.each(liveStacks.map((s) => [s, s]))("policy/config/%s.json is up to date with Pulumi.%s.yaml (npm run schema)", (stack) => {
    const file = path.join(repoRoot, policyConfigFile(stack));
    // A new stack's first run: say what to do, not ENOENT.
    if (!fs.existsSync(file)) throw new Error(`${policyConfigFile(stack)} is missing for Pulumi.${stack}.yaml: run npm run schema`);
    const committed = JSON.parse(fs.readFileSync(file, "utf8"));
    const live = clusterFromStackFile(readStackFile(repoRoot, stack));
    expect(committed).toEqual(JSON.parse(JSON.stringify(policyPackConfig(clusterFacts(live)))));
  });
});

describe("workflows", () => {
  it.each(["preview.yml", "up.yml"])("%s runs the pack with the stack's config", (file) => {
    const text = fs.readFileSync(path.join(repoRoot, ".github", "workflows", file), "utf8");
    expect(text).toContain("pulumi/actions@");
    expect(text).toContain("policyPacks: policy");
    expect(text).toContain("policyPackConfigs: policy/config/${{ matrix.stack }}.json");
    // Every stack file, whatever the user named them; on the runner the user chose (LAN access).
    expect(text).toContain("stack: ${{ fromJSON(needs.stacks.outputs.list) }}");
    expect(text).toContain(`runs-on: \${{ fromJSON(vars.PULUMI_RUNNER_LABELS || '["self-hosted"]') }}`);
  });

  it("the pull-request preview gets only the read-only 1Password token; up runs in the stack's environment", () => {
    const preview = fs.readFileSync(path.join(repoRoot, ".github", "workflows", "preview.yml"), "utf8");
    const up = fs.readFileSync(path.join(repoRoot, ".github", "workflows", "up.yml"), "utf8");
    expect(preview.match(/OP_SERVICE_ACCOUNT_TOKEN\w*: \$\{\{ secrets\.(\w+) \}\}/g)).toEqual([
      "OP_SERVICE_ACCOUNT_TOKEN: ${{ secrets.OP_SERVICE_ACCOUNT_TOKEN_READONLY }}",
    ]);
    expect(preview).toContain("if: github.event.pull_request.head.repo.full_name == github.repository");
    expect(up).toContain("environment: ${{ matrix.stack }}");
    expect(up).toContain("OP_SERVICE_ACCOUNT_TOKEN: ${{ secrets.OP_SERVICE_ACCOUNT_TOKEN }}");
  });

  it("the pull request's offline diff is each stack's --markdown, in one marked comment that preview-comment.yml posts, refused or not", () => {
    const workflows = path.join(repoRoot, ".github", "workflows");
    const preview = fs.readFileSync(path.join(workflows, "preview.yml"), "utf8");
    const comment = fs.readFileSync(path.join(workflows, "preview-comment.yml"), "utf8");
    // Each stack renders its own Markdown within its share of the comment; nothing re-wraps text output.
    expect(preview).toContain('npm run -s plan -- "$s" --diff "$BASE" "${new[@]}" --markdown --markdown-budget "$budget"');
    // A stack the pull request adds is planned against an empty base, not refused as an unknown file.
    expect(preview).toContain('git cat-file -e "$BASE:$f" 2>/dev/null || new=(--base-empty)');
    expect(preview).toContain("budget=$(( 60000 / stacks ))");
    expect(preview).not.toContain("```text");
    // The marker opens the comment, which the other workflow finds and updates by it.
    expect(preview).toContain('echo "<!-- plan-diff -->"');
    expect(comment).toContain('c.body.startsWith("<!-- plan-diff -->")');
    expect(preview).toContain("} > plan-diff/comment.md");
    expect(comment).toContain('fs.readFileSync("plan-diff/comment.md", "utf8")');
    expect(preview).toContain('echo "$PR" > plan-diff/pr-number');
    // A refused diff fails the job, and its comment is still uploaded.
    expect(preview).toContain("|| status=1");
    expect(preview).toContain('exit "$status"');
    expect(preview).toMatch(/if: always\(\)\n\s+with: \{ name: plan-diff, path: plan-diff\/ \}/);
  });
});
