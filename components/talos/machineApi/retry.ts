import { status, type ServiceError } from "@grpc/grpc-js";
import type { Clock } from "./clock";
import { isTalosApiError, talosApiError } from "./errors";

export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const defaultBackoff: Backoff = { initialMs: 500, maxMs: 10_000, factor: 2 };

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/** `UNAVAILABLE connect ECONNREFUSED ...`: the status name, then grpc-js's details. */
export function describeError(error: unknown): string {
  if (isTalosApiError(error)) return error.detail;
  if (isServiceError(error)) return `${status[error.code] ?? error.code} ${error.details || error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A node that is rebooting refuses connections (UNAVAILABLE), stalls mid-boot (DEADLINE_EXCEEDED), or
 * drops a call in flight as it goes down (CANCELLED). Only reads are retried on these.
 */
export function isTransient(error: unknown): boolean {
  const code = isTalosApiError(error) ? error.code : isServiceError(error) ? error.code : undefined;
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED || code === status.CANCELLED;
}

export function delayFor(attempt: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.initialMs * Math.pow(backoff.factor, attempt));
}

export function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

export interface RetryOptions {
  node: string;
  call: string;
  /** How long to keep retrying; 0 means one attempt. */
  totalMs: number;
  backoff: Backoff;
  clock: Clock;
  retryable: (error: unknown) => boolean;
}

/** Runs `attempt` until it succeeds, fails for good, or `totalMs` have passed on the clock. */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const start = options.clock.now();
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const code = isTalosApiError(error) ? error.code : isServiceError(error) ? error.code : undefined;
      if (!options.retryable(error)) {
        if (isTalosApiError(error)) throw error;
        throw talosApiError(options.node, options.call, describeError(error), code);
      }
      const elapsed = options.clock.now() - start;
      if (elapsed >= options.totalMs) {
        const detail =
          options.totalMs > 0 ? `still unreachable after ${seconds(elapsed)} (last: ${describeError(error)})` : describeError(error);
        throw talosApiError(options.node, options.call, detail, code);
      }
      await options.clock.sleep(Math.min(delayFor(n, options.backoff), options.totalMs - elapsed));
    }
  }
}
