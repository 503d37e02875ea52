/** Every failed call names the API server, the call and what the server (or the network) said. */
export interface KubernetesApiError extends Error {
  readonly name: "KubernetesApiError";
  readonly call: string;
  readonly detail: string;
  /** The HTTP status, when the server answered. */
  readonly statusCode?: number;
  /** The Status object's `reason` (`NotFound`, `TooManyRequests`, ...), when there was one. */
  readonly reason?: string;
}

/** A plain Error with fields, not a subclass: Pulumi's function serializer loses a subclass's message (see machineApi/errors.ts). */
export function kubernetesApiError(call: string, detail: string, statusCode?: number, reason?: string): KubernetesApiError {
  const error = new Error(`${call}: ${detail}`);
  return Object.assign(error, { name: "KubernetesApiError" as const, call, detail, statusCode, reason });
}

export function isKubernetesApiError(error: unknown): error is KubernetesApiError {
  return error instanceof Error && error.name === "KubernetesApiError" && typeof (error as Partial<KubernetesApiError>).call === "string";
}
