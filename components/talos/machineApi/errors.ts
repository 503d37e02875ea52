/** Every failure of a machine-API call names the node, the call and what was last seen. */
export interface TalosApiError extends Error {
  readonly name: "TalosApiError";
  readonly node: string;
  readonly call: string;
  readonly detail: string;
  /** The gRPC status code of the last failure, when there was one. */
  readonly code?: number;
  /**
   * A call that changes the machine failed after it may have reached the node (connection dropped,
   * deadline passed): whether it ran is unknown. Never re-sent; the caller checks the node instead.
   */
  readonly outcomeUnknown?: boolean;
}

/**
 * A plain Error with fields rather than `class ... extends Error`: Pulumi's function serializer (which
 * copies this code into a dynamic provider) rewrites `super(message)` into a call that leaves the
 * message empty, so a subclass would lose exactly the text that explains the failure.
 */
export function talosApiError(node: string, call: string, detail: string, code?: number, outcomeUnknown?: boolean): TalosApiError {
  const error = new Error(`node ${node}: ${call}: ${detail}`);
  error.name = "TalosApiError";
  const fields = { name: "TalosApiError" as const, node, call, detail, code };
  return Object.assign(error, outcomeUnknown ? { ...fields, outcomeUnknown } : fields);
}

/** Whether a failed call that changes the machine may have run anyway (see `outcomeUnknown`). */
export function outcomeUnknown(error: unknown): boolean {
  return isTalosApiError(error) && error.outcomeUnknown === true;
}

export function isTalosApiError(error: unknown): error is TalosApiError {
  return error instanceof Error && error.name === "TalosApiError" && typeof (error as Partial<TalosApiError>).node === "string";
}
