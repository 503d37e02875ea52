import type * as dynamic from "@pulumi/pulumi/dynamic";
import { createMachineClient } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import { defaultServices, type NodeRole } from "../machineApi/readiness";
import { waitUntilReady } from "../machineApi/wait";

/**
 * The NodeGate's provider. The engine runs it in a separate process from text that
 * `pulumi.runtime.serializeFunction` produced: functions reached from here are copied by value (our
 * own modules), npm packages are re-required by name there (`@grpc/grpc-js`, `protobufjs`). So nothing
 * reachable from here may hold live objects (sockets, protobufjs roots) at serialization time, and
 * this module must not touch `@pulumi/pulumi` at run time. tests/node-gate.test.ts runs the serialized
 * text in a fresh Node process, as the engine would.
 */

export interface GateExpectations {
  role: NodeRole;
  /** Talos tag the node must run, e.g. `v1.13.9`. */
  talosVersion: string;
  /** Services that must be Running and healthy; defaults by role. */
  services?: string[];
}

/** Inputs as the provider receives them: resolved, and with secrets unwrapped (dynamic providers do not accept secrets). */
export interface GateInputs {
  node: string;
  endpoint: string;
  port: number;
  clientConfiguration: ClientConfiguration;
  expectations: GateExpectations;
  /** Whatever should make the gate wait again: a hash of the node's config, the target version, ... */
  fingerprint: string;
  timeoutSeconds: number;
}

/**
 * Outputs: every input `diff` compares (the engine hands `diff` the OLD OUTPUTS, not the old inputs),
 * and never the client configuration, so the key stays out of the outputs in state.
 */
export interface GateOutputs {
  node: string;
  endpoint: string;
  port: number;
  expectations: GateExpectations;
  fingerprint: string;
  timeoutSeconds: number;
  /** The version the node answered with when it passed. */
  observedVersion: string;
}

/** The inputs whose change means "wait for this node again". Timeout and credentials are not among them. */
const gatedKeys = ["node", "endpoint", "port", "expectations", "fingerprint"] as const;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function changedKeys(olds: Partial<GateOutputs>, news: GateInputs): string[] {
  return gatedKeys.filter((key) => canonical(olds[key]) !== canonical(news[key]));
}

async function runGate(inputs: GateInputs): Promise<GateOutputs> {
  const client = createMachineClient({
    endpoint: inputs.endpoint,
    node: inputs.node,
    port: inputs.port,
    clientConfiguration: inputs.clientConfiguration,
  });
  try {
    const { role, talosVersion } = inputs.expectations;
    const services = inputs.expectations.services ?? defaultServices(role);
    const ready = await waitUntilReady(
      client,
      { node: inputs.node, role, talosVersion, services },
      { timeoutMs: inputs.timeoutSeconds * 1000, intervalMs: 5000 },
    );
    return {
      node: inputs.node,
      endpoint: inputs.endpoint,
      port: inputs.port,
      expectations: inputs.expectations,
      fingerprint: inputs.fingerprint,
      timeoutSeconds: inputs.timeoutSeconds,
      observedVersion: ready.version.tag,
    };
  } finally {
    client.close();
  }
}

export const nodeGateProvider: dynamic.ResourceProvider<GateInputs, GateOutputs> = {
  async diff(_id, olds, news) {
    const changed = changedKeys(olds, news);
    // Never a replacement: a gate has nothing to delete, waiting again is the whole update.
    return { changes: changed.length > 0, replaces: [] };
  },
  async create(inputs) {
    const outs = await runGate(inputs);
    return { id: `nodegate-${inputs.node}`, outs };
  },
  async update(_id, _olds, news) {
    return { outs: await runGate(news) };
  },
  async delete() {
    // Nothing on the node belongs to the gate.
  },
};
