/** Every failure of a machine-API call names the node, the call and what was last seen. */
export class TalosApiError extends Error {
  constructor(
    readonly node: string,
    readonly call: string,
    readonly detail: string,
    /** The gRPC status code of the last failure, when there was one. */
    readonly code?: number,
  ) {
    super(`node ${node}: ${call}: ${detail}`);
    this.name = "TalosApiError";
  }
}
