import type * as dynamic from "@pulumi/pulumi/dynamic";
import { createMachineClient } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import { defaultServices, type NodeRole } from "../machineApi/readiness";
import { waitUntilReady } from "../machineApi/wait";
import { changedAmong, definedOnly } from "./canonical";

/**
 * ClusterReady's provider: every node of the stack ready, checked in parallel with the NodeGate's
 * rules (version, services, etcd member on control planes). It is the pre-CNI wait: Talos'
 * ClusterService/HealthCheck always includes the Kubernetes checks, which cannot pass before a CNI
 * runs. Serialized like the NodeGate's provider (see nodeGateProvider.ts): plain functions only.
 */

export interface ReadyNode {
  /** The node's IP: what is dialled and what errors name. */
  node: string;
  role: NodeRole;
  /** apid port; 50000 unless a test says otherwise. */
  port: number;
}

export interface ClusterReadyInputs {
  nodes: ReadyNode[];
  talosVersion: string;
  /** Used as the os:reader credential only: every call this makes is one a reader may make (machineApi/roles.ts). */
  clientConfiguration: ClientConfiguration;
  /** Whatever should make it wait again: the node set, the Talos and Kubernetes versions. */
  fingerprint: string;
  timeoutSeconds: number;
  pollSeconds?: number;
}

/** Everything but the client configuration, plus what each node answered with. */
export interface ClusterReadyOutputs {
  nodes: ReadyNode[];
  talosVersion: string;
  fingerprint: string;
  timeoutSeconds: number;
  pollSeconds?: number;
  /** Node IP → the version it answered with when it passed. */
  observedVersions: Record<string, string>;
}

const gatedKeys = ["nodes", "talosVersion", "fingerprint"] as const;

export function clusterReadyChanges(olds: Partial<ClusterReadyOutputs>, news: ClusterReadyInputs): string[] {
  return changedAmong(gatedKeys, olds, news);
}

async function waitForAll(inputs: ClusterReadyInputs): Promise<ClusterReadyOutputs> {
  const results = await Promise.allSettled(
    inputs.nodes.map(async (n) => {
      const client = createMachineClient({ endpoint: n.node, port: n.port, readerConfiguration: inputs.clientConfiguration });
      try {
        const ready = await waitUntilReady(
          client,
          { node: n.node, role: n.role, talosVersion: inputs.talosVersion, services: defaultServices(n.role) },
          { timeoutMs: inputs.timeoutSeconds * 1000, intervalMs: (inputs.pollSeconds ?? 5) * 1000 },
        );
        return [n.node, ready.version.tag] as const;
      } finally {
        client.close();
      }
    }),
  );
  const failures = results.flatMap((r) =>
    r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
  );
  // Every node that is not ready is named, not only the first.
  if (failures.length > 0) throw new Error(`${failures.length} of ${inputs.nodes.length} nodes not ready:\n${failures.join("\n")}`);
  const observedVersions = Object.fromEntries(results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])));
  const { nodes, talosVersion, fingerprint, timeoutSeconds, pollSeconds } = inputs;
  return definedOnly({ nodes, talosVersion, fingerprint, timeoutSeconds, pollSeconds, observedVersions });
}

export const clusterReadyProvider: dynamic.ResourceProvider<ClusterReadyInputs, ClusterReadyOutputs> & {
  outputsOf(inputs: ClusterReadyInputs): ClusterReadyOutputs;
} = {
  async diff(_id, olds, news) {
    return { changes: clusterReadyChanges(olds, news).length > 0, replaces: [] };
  },
  /** State after a run, as far as known without the nodes (plan/record/dynamicProvider.ts): what `diff` is called with. */
  outputsOf: (inputs: ClusterReadyInputs): ClusterReadyOutputs => {
    const { nodes, talosVersion, fingerprint, timeoutSeconds, pollSeconds } = inputs;
    return definedOnly({ nodes, talosVersion, fingerprint, timeoutSeconds, pollSeconds, observedVersions: {} });
  },
  async create(inputs) {
    return { id: "cluster-ready", outs: await waitForAll(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: await waitForAll(news) };
  },
  async delete() {
    // Nothing to undo: it only waited.
  },
};
