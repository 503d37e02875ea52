import type { Logic, Props } from "../../components/dynamic/thinRuntime";

/**
 * Dynamic-provider logic that records what it is handed (tests/provider-steps.test.ts drives it
 * through thinRuntime's `invoke`, which loads it by path like any provider module). `changed` is
 * what its own diff reports; `minimal` has only the methods a logic must have.
 */
export const calls: Array<{ method: string; args: unknown[] }> = [];
export const control = { changed: true };

export const recording: Logic = {
  diff: async (...args) => (calls.push({ method: "diff", args }), { changes: control.changed, replaces: [] }),
  create: async (inputs) => (calls.push({ method: "create", args: [inputs] }), { id: "r-1", outs: { ...inputs, created: true } }),
  read: async (id, props) => (calls.push({ method: "read", args: [id, props] }), { id, props: { ...props, read: true }, inputs: { a: 1 } }),
  update: async (id, olds, news) => (calls.push({ method: "update", args: [id, olds, news] }), { outs: { ...news, updated: true } }),
  delete: async (id, props) => void calls.push({ method: "delete", args: [id, props] }),
  outputsOf: (inputs: Props) => ({ ...inputs, recorded: true }),
};

export const minimal: Logic = {
  create: async (inputs) => ({ id: "m-1", outs: inputs }),
};

/** A read that returns no inputs. */
export const readOnly: Logic = {
  create: async () => ({ id: "o-1" }),
  read: async (id, props) => ({ id, props }),
};

/** An update that returns nothing (a logic may). */
export const silentUpdate: Logic = {
  create: async () => ({ id: "s-1" }),
  update: async () => undefined,
};
