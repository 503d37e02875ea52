import { outcomeUnknown, talosApiError, type TalosApiError } from "../machineApi/errors";

/**
 * Sends a call that changes the machine (it is never re-sent: see client.ts). A definite failure is
 * thrown; an unknown outcome (the connection dropped after the request was written, or its deadline
 * passed) is returned, so that the caller checks the node (boot id, version, member list) for what
 * happened instead of asking again.
 */
export async function sentOnce(send: () => Promise<unknown>, log: (line: string) => void): Promise<TalosApiError | undefined> {
  try {
    await send();
    return undefined;
  } catch (error) {
    if (!outcomeUnknown(error)) throw error;
    const unknown = error as TalosApiError;
    log(`${unknown.message}; checking the node instead`);
    return unknown;
  }
}

/** A wait that followed a call of unknown outcome failed: say both, so no one re-sends blindly. */
export function afterUnknown(unknown: TalosApiError | undefined, error: unknown): unknown {
  if (!unknown) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return talosApiError(unknown.node, unknown.call, `outcome unknown (${unknown.detail}), and the node shows no sign it ran: ${detail}`);
}
