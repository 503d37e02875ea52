import type * as dynamic from "@pulumi/pulumi/dynamic";
import { createMachineClient } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import { isTransient } from "../machineApi/retry";
import { changedAmong, definedOnly } from "./canonical";

/**
 * ClusterHealth's provider: Talos' own full cluster health check (ClusterService/HealthCheck, the
 * check `talosctl health` runs, Kubernetes included) against the stack's control planes and workers.
 * Serialized like the NodeGate's provider (see nodeGateProvider.ts): plain functions only.
 */

export interface ClusterHealthInputs {
  /** Control-plane IPs to ask, in order; the next one is tried when one is unreachable. */
  endpoints: string[];
  port: number;
  controlPlaneNodes: string[];
  workerNodes: string[];
  clientConfiguration: ClientConfiguration;
  /** Whatever should make it check again: node set, versions, the CNI's chart version and values. */
  fingerprint: string;
  /** The server-side wait of the check. */
  timeoutSeconds: number;
  /** How long one endpoint is retried while unreachable before the next is asked (default 30). */
  endpointRetrySeconds?: number;
}

export interface ClusterHealthOutputs {
  endpoints: string[];
  port: number;
  controlPlaneNodes: string[];
  workerNodes: string[];
  fingerprint: string;
  timeoutSeconds: number;
  endpointRetrySeconds?: number;
  /** The last progress line of the check that passed. */
  lastMessage: string;
}

/**
 * Checks again when the fingerprint (versions, CNI) changes or a node joins a role. A node that only
 * leaves is no reason: it is removed after every other step (the engine runs deletes last), so a
 * check now would still see it in Kubernetes and fail on it (Talos' "all k8s nodes reported" check).
 */
export function clusterHealthChanges(olds: Partial<ClusterHealthOutputs>, news: ClusterHealthInputs): string[] {
  const joined = (key: "controlPlaneNodes" | "workerNodes") => news[key].some((ip) => !(olds[key] ?? []).includes(ip));
  return [...changedAmong(["fingerprint"] as const, olds, news), ...(["controlPlaneNodes", "workerNodes"] as const).filter(joined)];
}

/**
 * Nodes that left since the stored node set. No reason to check, but a reason to store the new set:
 * the engine keeps a resource's old outputs when its diff reports no change (pulumi/pulumi
 * pkg/resource/deploy/step.go SameStep.Apply), so a node that left and later comes back would still
 * be in the stored set and count as checked.
 */
function nodesLeft(olds: Partial<ClusterHealthOutputs>, news: ClusterHealthInputs): boolean {
  return (["controlPlaneNodes", "workerNodes"] as const).some((key) => (olds[key] ?? []).some((ip) => !news[key].includes(ip)));
}

function healthOutputs(inputs: ClusterHealthInputs, lastMessage: string): ClusterHealthOutputs {
  const { endpoints, port, controlPlaneNodes, workerNodes, fingerprint, timeoutSeconds, endpointRetrySeconds } = inputs;
  return definedOnly({ endpoints, port, controlPlaneNodes, workerNodes, fingerprint, timeoutSeconds, endpointRetrySeconds, lastMessage });
}

/** The server-side wait of one HealthCheck stream; the check is asked again on the same endpoint until `timeoutSeconds`. */
const streamWaitSeconds = 300;

/**
 * One endpoint at a time. Only an unreachable endpoint (UNAVAILABLE/DEADLINE_EXCEEDED from the
 * transport after a short retry) hands over to the next. A stream the server ends with
 * DEADLINE_EXCEEDED at its wait timeout (v1alpha1_cluster.go, HealthCheck: check.Wait returns
 * ctx.Err()) means "not healthy yet": the client asks the same endpoint again until `timeoutSeconds`,
 * and a cluster still unhealthy then fails here, naming the check it waited on, without fail-over.
 */
async function check(inputs: ClusterHealthInputs, log: (line: string) => void = () => undefined): Promise<ClusterHealthOutputs> {
  if (inputs.endpoints.length === 0) throw new Error("cluster health: no endpoint to ask");
  let lastError: unknown;
  for (const endpoint of inputs.endpoints) {
    const client = createMachineClient({ endpoint, port: inputs.port, clientConfiguration: inputs.clientConfiguration });
    try {
      const messages = await client.healthCheck(
        {
          waitTimeoutSeconds: Math.min(inputs.timeoutSeconds, streamWaitSeconds),
          untilMs: inputs.timeoutSeconds * 1000,
          controlPlaneNodes: inputs.controlPlaneNodes,
          workerNodes: inputs.workerNodes,
          onProgress: (line) => log(`cluster health (${endpoint}): ${line}`),
        },
        { retryForMs: (inputs.endpointRetrySeconds ?? 30) * 1000 },
      );
      return healthOutputs(inputs, messages[messages.length - 1] ?? "");
    } catch (error) {
      if (!isTransient(error)) throw error;
      lastError = error;
    } finally {
      client.close();
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

export const clusterHealthProvider: dynamic.ResourceProvider<ClusterHealthInputs, ClusterHealthOutputs> & {
  outputsOf(inputs: ClusterHealthInputs): ClusterHealthOutputs;
} = {
  async diff(_id, olds, news) {
    return { changes: clusterHealthChanges(olds, news).length > 0 || nodesLeft(olds, news), replaces: [] };
  },
  /** State after a run, as far as known without the cluster (plan/record/dynamicProvider.ts): what `diff` is called with. */
  outputsOf: (inputs: ClusterHealthInputs) => healthOutputs(inputs, ""),
  async create(inputs) {
    return { id: "cluster-health", outs: await check(inputs, (line) => console.error(line)) };
  },
  async update(_id, olds, news) {
    // Only nodes left: record the set, check nothing (see clusterHealthChanges).
    if (clusterHealthChanges(olds, news).length === 0) return { outs: healthOutputs(news, olds.lastMessage ?? "") };
    return { outs: await check(news, (line) => console.error(line)) };
  },
  async delete() {
    // Nothing to undo: it only checked.
  },
};
