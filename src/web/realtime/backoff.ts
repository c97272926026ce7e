/**
 * Reconnect delays: exponential backoff with jitter.
 *
 * Exponential so that a server that is down is not hammered; jitter so that
 * a server that restarts is not hit by every client in the same millisecond
 * (the "thundering herd" after a deploy).
 */

export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Ceiling of the delay, in ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 15_000 };

/**
 * The delay before retry number `attempt` (0 for the first retry).
 *
 * "Equal jitter": half of the exponential step is kept, the other half is
 * random. Keeping half guarantees the delay still grows, so a flapping
 * network cannot drive the client into a tight loop; `random` is injectable
 * so tests are deterministic.
 */
export function reconnectDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const safeAttempt = Math.max(0, Math.floor(attempt));
  // 2 ** 30 would overflow any sane ceiling long before; capping the exponent
  // keeps the arithmetic finite for a client left offline for days.
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(safeAttempt, 30));
  const half = step / 2;
  return Math.round(half + random() * half);
}
