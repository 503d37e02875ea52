import { status } from "@grpc/grpc-js";
import { assessEtcdHealth, claimControlPlaneRemoval, removalKeepsQuorum } from "../components/talos/lifecycle/quorum";
import { checkKubernetesUpgrade, checkOsUpgradeStep, parseVersion, upgradePlan } from "../components/talos/lifecycle/upgradePlan";
import { versionGuardProvider, versionRefusals, type VersionGuardInputs } from "../components/talos/lifecycle/versionGuardProvider";
import type { Clock } from "../components/talos/machineApi/clock";
import { talosApiError } from "../components/talos/machineApi/errors";
import type { EtcdMemberInfo } from "../components/talos/machineApi/replies";
import {
  defaultBackoff,
  delayFor,
  describeError,
  isServiceError,
  isTransient,
  seconds,
  withRetries,
  type RetryOptions,
} from "../components/talos/machineApi/retry";

/**
 * The day-2 rules as pure functions, without a fake node: quorum arithmetic, etcd health, the
 * one-control-plane-per-run claim, the machine API's retry loop on a virtual clock, and the
 * versions record's provider. Fast on purpose: the mutation area `lifecycle` runs these per mutant.
 */

describe("removalKeepsQuorum", () => {
  it.each([
    [2, false],
    [3, true],
    [4, true],
    [5, true],
    [7, true],
  ])("%i members → one leaving keeps a majority: %s", (count, keeps) => {
    expect(removalKeepsQuorum(count)).toEqual(
      keeps
        ? { allowed: true }
        : {
            allowed: false,
            reason:
              "etcd would go from 2 to 1 member(s), below a majority (2) of 2: one more fault would lose quorum (allow it explicitly to proceed)",
          },
    );
  });

  it("allows 2 → 1 only when explicitly allowed, and never the last member or a nonsense count", () => {
    expect(removalKeepsQuorum(2, true)).toEqual({ allowed: true });
    const last = { allowed: false, reason: "it is the last etcd member: removing it deletes the cluster's data" };
    expect(removalKeepsQuorum(1)).toEqual(last);
    expect(removalKeepsQuorum(1, true)).toEqual(last);
    expect(removalKeepsQuorum(0, true)).toEqual({ allowed: false, reason: "etcd has 0 members" });
    expect(removalKeepsQuorum(-1, true)).toEqual({ allowed: false, reason: "etcd has -1 members" });
    expect(removalKeepsQuorum(2.5, true)).toEqual({ allowed: false, reason: "etcd has 2.5 members" });
  });
});

describe("assessEtcdHealth", () => {
  const member = (id: string, hostname: string): EtcdMemberInfo => ({ id, hostname, isLearner: false, peerUrls: [] });
  const members = [member("11", "cp1"), member("22", "cp2"), member("33", "cp3")];
  const answer = (endpoint: string, memberId: string, errors: string[] = []) => ({
    endpoint,
    status: { memberId, leader: "11", isLearner: false, errors },
  });

  it("is healthy when every member answered without errors, through whichever endpoint", () => {
    expect(assessEtcdHealth(members, [answer("10.0.0.3", "33"), answer("10.0.0.1", "11"), answer("10.0.0.2", "22")])).toEqual({
      allowed: true,
    });
    // One member alone, answering: healthy (the quorum rule, not this one, refuses removing it).
    expect(assessEtcdHealth([member("11", "cp1")], [answer("10.0.0.1", "11")])).toEqual({ allowed: true });
  });

  it("refuses an empty member list", () => {
    expect(assessEtcdHealth([], [answer("10.0.0.1", "11")])).toEqual({ allowed: false, reason: "etcd member list is empty" });
  });

  it("names each problem in order: silent members, members with errors, failed endpoints, strangers", () => {
    expect(
      assessEtcdHealth(members, [
        answer("10.0.0.1", "11", ["NOSPACE", "CORRUPT"]),
        { endpoint: "10.0.0.2", error: "connection refused" },
        answer("10.0.0.9", "99"),
      ]),
    ).toEqual({
      allowed: false,
      reason:
        "etcd is unhealthy: member cp1 (11) reports errors: NOSPACE; CORRUPT; member cp2 (22) did not answer; " +
        "member cp3 (33) did not answer; 10.0.0.2: connection refused; 10.0.0.9: its member 99 is not in the member list",
    });
  });

  it("takes an endpoint that gave neither status nor error as no answer", () => {
    expect(assessEtcdHealth([member("11", "cp1")], [{ endpoint: "10.0.0.1" }])).toEqual({
      allowed: false,
      reason: "etcd is unhealthy: member cp1 (11) did not answer",
    });
  });

  it("does not count an endpoint that failed as an answer for any member", () => {
    expect(assessEtcdHealth([member("11", "cp1")], [{ endpoint: "10.0.0.1", error: "deadline exceeded" }])).toEqual({
      allowed: false,
      reason: "etcd is unhealthy: member cp1 (11) did not answer; 10.0.0.1: deadline exceeded",
    });
  });
});

describe("claimControlPlaneRemoval", () => {
  it("lets one control plane per cluster leave in a run, the same one again, and others after a release", () => {
    const first = claimControlPlaneRemoval("https://a:6443", "cp3");
    // The same node again (a retried delete) and another cluster are not blocked.
    claimControlPlaneRemoval("https://a:6443", "cp3");
    const other = claimControlPlaneRemoval("https://b:6443", "cp9");
    expect(() => claimControlPlaneRemoval("https://a:6443", "cp2")).toThrow(
      new Error(
        "remove control plane cp2: refused: control plane cp3 already leaves etcd in this run; " +
          "only one control plane may leave per run (run pulumi up again once cp3 is gone)",
      ),
    );
    // A stale claim (released, then the cluster claimed by another node) releases nothing.
    other.release();
    const stale = claimControlPlaneRemoval("https://b:6443", "cp9");
    stale.release();
    const current = claimControlPlaneRemoval("https://b:6443", "cp8");
    stale.release();
    expect(() => claimControlPlaneRemoval("https://b:6443", "cp7")).toThrow("control plane cp8 already leaves etcd");
    current.release();
    first.release();
    claimControlPlaneRemoval("https://a:6443", "cp2").release();
    claimControlPlaneRemoval("https://b:6443", "cp7").release();
  });

  it("keeps the claim where the engine's provider process shares it: on globalThis", () => {
    const claim = claimControlPlaneRemoval("https://c:6443", "cp1");
    const registry = (globalThis as unknown as Record<string, Map<string, string>>)["__talosGitopsControlPlaneRemovals"];
    expect(registry?.get("https://c:6443")).toBe("cp1");
    claim.release();
    expect(registry?.has("https://c:6443")).toBe(false);
  });
});

/** A virtual clock that records every sleep. */
function virtualClock(start = 1_000_000): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

const grpcError = (code: number, details: string, message = `${code} ${details}`) => Object.assign(new Error(message), { code, details });

describe("the machine API's retry rules", () => {
  it("backs off exponentially from the initial delay, capped at the maximum", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => delayFor(n, defaultBackoff))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect([0, 1, 2].map((n) => delayFor(n, { initialMs: 100, maxMs: 250, factor: 3 }))).toEqual([100, 250, 250]);
  });

  it("rounds milliseconds to whole seconds", () => {
    expect([0, 499, 500, 1499, 61_000].map(seconds)).toEqual(["0s", "0s", "1s", "1s", "61s"]);
  });

  it("retries UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED only, as gRPC errors or our own errors", () => {
    const transient = [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED];
    for (const code of Object.values(status).filter((c): c is number => typeof c === "number")) {
      expect([code, isTransient(grpcError(code, "x"))]).toEqual([code, transient.includes(code)]);
      expect([code, isTransient(talosApiError("n", "Version", "x", code))]).toEqual([code, transient.includes(code)]);
    }
    expect(isTransient(new Error("UNAVAILABLE"))).toBe(false);
    expect(isTransient(talosApiError("n", "Version", "x"))).toBe(false);
    expect(isTransient(status.UNAVAILABLE)).toBe(false);
  });

  it("recognises gRPC errors by a numeric code on an Error", () => {
    expect(isServiceError(grpcError(14, "down"))).toBe(true);
    expect(isServiceError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(false);
    expect(isServiceError({ code: 14, message: "x" })).toBe(false);
  });

  it("describes an error by status name and details, falling back to the message", () => {
    expect(describeError(grpcError(status.UNAVAILABLE, "connect ECONNREFUSED 127.0.0.1:50000"))).toBe(
      "UNAVAILABLE connect ECONNREFUSED 127.0.0.1:50000",
    );
    expect(describeError(grpcError(status.INTERNAL, "", "13 INTERNAL: boom"))).toBe("INTERNAL 13 INTERNAL: boom");
    expect(describeError(grpcError(99, "odd"))).toBe("99 odd");
    expect(describeError(talosApiError("10.0.0.1", "Version", "still down"))).toBe("still down");
    expect(describeError(new Error("plain"))).toBe("plain");
    expect(describeError("text")).toBe("text");
  });
});

describe("withRetries on a virtual clock", () => {
  const options = (clock: Clock, totalMs: number, over: Partial<RetryOptions> = {}): RetryOptions => ({
    node: "10.0.0.1",
    call: "Version",
    totalMs,
    backoff: { initialMs: 100, maxMs: 400, factor: 2 },
    clock,
    retryable: isTransient,
    ...over,
  });
  /** Fails with `errors` in turn, then answers "ok". */
  const scripted = (errors: unknown[]) => {
    let calls = 0;
    const attempt = async () => {
      calls++;
      if (errors.length > 0) throw errors.shift();
      return "ok";
    };
    return { attempt, calls: () => calls };
  };

  it("returns the first success, sleeping the backoff between attempts", async () => {
    const clock = virtualClock();
    const script = scripted([
      grpcError(status.UNAVAILABLE, "a"),
      grpcError(status.CANCELLED, "b"),
      grpcError(status.DEADLINE_EXCEEDED, "c"),
    ]);
    await expect(withRetries(script.attempt, options(clock, 10_000))).resolves.toBe("ok");
    expect(script.calls()).toBe(4);
    expect(clock.sleeps).toEqual([100, 200, 400]);
  });

  it("does not sleep when the first attempt succeeds", async () => {
    const clock = virtualClock();
    const script = scripted([]);
    await expect(withRetries(script.attempt, options(clock, 10_000))).resolves.toBe("ok");
    expect([script.calls(), clock.sleeps]).toEqual([1, []]);
  });

  it("gives up at the deadline with the elapsed time and the last failure, the last sleep trimmed to it", async () => {
    const clock = virtualClock();
    const down = () => grpcError(status.UNAVAILABLE, "connect ECONNREFUSED");
    const script = scripted(Array.from({ length: 20 }, down));
    const failure = withRetries(script.attempt, options(clock, 1000));
    await expect(failure).rejects.toMatchObject({
      name: "TalosApiError",
      message: "node 10.0.0.1: Version: still unreachable after 1s (last: UNAVAILABLE connect ECONNREFUSED)",
      node: "10.0.0.1",
      call: "Version",
      code: status.UNAVAILABLE,
    });
    // 100 + 200 + 400 = 700, then 300 left of 1000 (not the 400 the backoff asks for).
    expect(clock.sleeps).toEqual([100, 200, 400, 300]);
    expect(script.calls()).toBe(5);
  });

  it("makes one attempt when totalMs is 0, failing with the error itself", async () => {
    const clock = virtualClock();
    const script = scripted([grpcError(status.UNAVAILABLE, "connect ECONNREFUSED")]);
    await expect(withRetries(script.attempt, options(clock, 0))).rejects.toMatchObject({
      message: "node 10.0.0.1: Version: UNAVAILABLE connect ECONNREFUSED",
      code: status.UNAVAILABLE,
    });
    expect([script.calls(), clock.sleeps]).toEqual([1, []]);
  });

  it("fails at once on an error that is not retryable, wrapped with node and call, or as it is when already ours", async () => {
    const clock = virtualClock();
    const denied = scripted([grpcError(status.PERMISSION_DENIED, "not allowed")]);
    await expect(withRetries(denied.attempt, options(clock, 10_000))).rejects.toMatchObject({
      message: "node 10.0.0.1: Version: PERMISSION_DENIED not allowed",
      code: status.PERMISSION_DENIED,
    });
    const ours = talosApiError("10.0.0.2", "Upgrade", "refused by the node");
    await expect(withRetries(scripted([ours]).attempt, options(clock, 10_000))).rejects.toBe(ours);
    const plain = scripted([new Error("parse failure")]);
    const error = await withRetries(plain.attempt, options(clock, 10_000)).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: "node 10.0.0.1: Version: parse failure", code: undefined });
    expect(clock.sleeps).toEqual([]);
  });

  it("asks the caller's rule, not isTransient, what to retry", async () => {
    const clock = virtualClock();
    const script = scripted([new Error("not yet"), new Error("not yet")]);
    const retryable = (e: unknown) => e instanceof Error && e.message === "not yet";
    await expect(withRetries(script.attempt, options(clock, 10_000, { retryable }))).resolves.toBe("ok");
    expect(clock.sleeps).toEqual([100, 200]);
  });
});

describe("the versions record's provider", () => {
  const inputs = (talosVersion: string, kubernetesVersion: string): VersionGuardInputs => ({
    file: "Pulumi.lab.yaml",
    talosVersion,
    kubernetesVersion,
    kubernetesRange: { min: "1.30", max: "1.35" },
  });

  it("reports a change when either version moves, and only then", async () => {
    const diff = versionGuardProvider.diff!;
    const base = inputs("v1.12.1", "v1.34.1");
    expect(await diff("versions", base, inputs("v1.12.1", "v1.34.2"))).toEqual({ changes: true, replaces: [] });
    expect(await diff("versions", base, inputs("v1.12.2", "v1.34.1"))).toEqual({ changes: true, replaces: [] });
    // The range and the file are not versions: a new range alone is no change.
    expect(await diff("versions", base, { ...base, file: "Pulumi.other.yaml", kubernetesRange: { min: "1.31", max: "1.36" } })).toEqual({
      changes: false,
      replaces: [],
    });
  });

  it("throws every refusal in one message", async () => {
    await expect(versionGuardProvider.diff!("versions", inputs("v1.11.6", "v1.33.1"), inputs("v1.13.0", "v1.35.0"))).rejects.toThrow(
      new Error(
        "refused version change: Pulumi.lab.yaml talos.version: v1.11.6 → v1.13.0 skips v1.12: upgrade one minor at a time; " +
          "Pulumi.lab.yaml talos.kubernetesVersion: Kubernetes v1.33.1 → v1.35.0 skips a minor: upgrade one minor at a time",
      ),
    );
  });

  it("records exactly its inputs on create and update, dropping anything else", async () => {
    const next = inputs("v1.12.2", "v1.34.1");
    const withExtra = { ...next, __provider: "serialized" } as VersionGuardInputs;
    expect(await versionGuardProvider.create!(withExtra)).toEqual({ id: "versions", outs: next });
    expect(await versionGuardProvider.update!("versions", inputs("v1.12.1", "v1.34.1"), withExtra)).toEqual({ outs: next });
    await expect(versionGuardProvider.delete!("versions", next)).resolves.toBeUndefined();
  });
});

describe("version arithmetic of the upgrade rules", () => {
  it("parses Talos and Kubernetes versions, with or without v, blanks around, pre-release and build ignored", () => {
    expect(
      ["v1.12.3", "1.12.3", " v1.13.0-beta.1 ", "v10.20.30+build.5", "v1.2.3-b"].map((v) => Object.values(parseVersion(v)).join(".")),
    ).toEqual(["1.12.3", "1.12.3", "1.13.0", "10.20.30", "1.2.3"]);
  });

  it.each(["v1.12", "x1.12.3", "v1.12.3x", "vv1.2.3", "v1.12.3-", "v1.12.3_beta", "v1.12.3-be ta", "1.12.3.4", ""])(
    "refuses %j as a version",
    (version) => {
      expect(() => parseVersion(version)).toThrow(new Error(`not a version: ${JSON.stringify(version)} (expected e.g. v1.13.2)`));
    },
  );

  it("refuses a change of major version", () => {
    expect(checkOsUpgradeStep("v1.12.3", "v2.0.0")).toEqual({ allowed: false, reason: "v1.12.3 → v2.0.0 changes the major version" });
  });

  it("cuts the workers into whole batches, the last one shorter, no empty batch", () => {
    const nodes = ["w1", "w2", "w3", "w4"].map((name) => ({ name, role: "worker" as const }));
    expect(upgradePlan(nodes, { maxUnavailableWorkers: 2 })).toEqual([
      { role: "worker", nodes: ["w1", "w2"] },
      { role: "worker", nodes: ["w3", "w4"] },
    ]);
    expect(upgradePlan(nodes.slice(0, 3), { maxUnavailableWorkers: 2 })).toEqual([
      { role: "worker", nodes: ["w1", "w2"] },
      { role: "worker", nodes: ["w3"] },
    ]);
  });

  const range = { min: "1.30", max: "1.35" };
  it("keeps Kubernetes inside the Talos range at both ends, by major as well as minor", () => {
    const outside = (to: string, r = range) => ({
      allowed: false,
      reason: `Kubernetes ${to} is outside the range the target Talos supports (${r.min} to ${r.max})`,
    });
    expect(checkKubernetesUpgrade("v1.29.9", "v1.29.10", range)).toEqual(outside("v1.29.10"));
    expect(checkKubernetesUpgrade("v1.29.9", "v1.30.0", range)).toEqual({ allowed: true });
    expect(checkKubernetesUpgrade("v1.35.0", "v1.35.9", range)).toEqual({ allowed: true });
    expect(checkKubernetesUpgrade("v1.35.0", "v1.36.0", range)).toEqual(outside("v1.36.0"));
    expect(checkKubernetesUpgrade("v0.40.0", "v0.40.1", range)).toEqual(outside("v0.40.1"));
    expect(checkKubernetesUpgrade("v1.35.0", "v2.0.0", range)).toEqual(outside("v2.0.0"));
    const wide = { min: " v0.9 ", max: "v2.5" };
    expect(checkKubernetesUpgrade("v0.40.0", "v1.0.0", wide)).toEqual({
      allowed: false,
      reason: "Kubernetes v0.40.0 → v1.0.0 changes the major version",
    });
    expect(checkKubernetesUpgrade("v1.34.1", "v1.34.1", range)).toEqual({ allowed: true });
    expect(checkKubernetesUpgrade("v1.34.1", "v1.34.0", range)).toEqual({
      allowed: false,
      reason: "Kubernetes v1.34.1 → v1.34.0 is a downgrade",
    });
    expect(checkKubernetesUpgrade("v10.3.0", "v10.4.0", { min: "10.1", max: "10.9" })).toEqual({ allowed: true });
    // Below the top major, any minor is inside.
    expect(checkKubernetesUpgrade("v1.39.0", "v1.40.0", { min: "1.30", max: "2.5" })).toEqual({ allowed: true });
  });

  it.each(["1.30.1", "x1.30", "1.30x", "1", ""])("refuses %j as a range end", (min) => {
    expect(() => checkKubernetesUpgrade("v1.34.1", "v1.34.2", { min, max: "1.35" })).toThrow(
      new Error(`not a minor: ${JSON.stringify(min)} (expected e.g. 1.34)`),
    );
  });
});

describe("the versions record's refusals", () => {
  const news: VersionGuardInputs = {
    file: "Pulumi.lab.yaml",
    talosVersion: "v1.12.2",
    kubernetesVersion: "v1.34.1",
    kubernetesRange: { min: "1.30", max: "1.35" },
  };
  it("check nothing on a first record", () => {
    expect(versionRefusals({}, news)).toEqual([]);
    expect(versionRefusals({ talosVersion: "v1.12.2" }, news)).toEqual([]);
    expect(versionRefusals({ kubernetesVersion: "v1.34.1" }, news)).toEqual([]);
  });
});
