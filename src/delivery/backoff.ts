// Pure: how long the delivery worker waits before claiming again after claims failed (storage full or failing).

export interface Backoff {
  /** Failed claims in a row. */
  failures: number;
  /** No claim before this time (epoch ms). */
  until: number;
}

export const NO_BACKOFF: Backoff = { failures: 0, until: 0 };

export const BACKOFF_BASE_MS = 100;
export const BACKOFF_MAX_MS = 30_000;

/** Capped exponential: 100 ms, 200 ms, 400 ms … up to 30 s after each failure in a row. */
export function afterFailure(b: Backoff, now: number, baseMs = BACKOFF_BASE_MS, maxMs = BACKOFF_MAX_MS): Backoff {
  const failures = b.failures + 1;
  const wait = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return { failures, until: now + wait };
}

/** How long to wait before the next claim (0: claim now). */
export function waitMs(b: Backoff, now: number): number {
  return Math.max(0, b.until - now);
}
