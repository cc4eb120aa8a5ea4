import type { AckContract, RetryPolicy } from "../config/types.ts";

// Pure decisions about a delivery: was it acknowledged, and when (if ever) is the next attempt.

/** Longest Retry-After we obey; a receiver asking for more is retried after a day. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

export type AckVerdict = { acknowledged: true } | { acknowledged: false; reason: string };

/** The acknowledgment contract: the status is in range and, when bodies are set, the body equals one exactly. */
export function isAcknowledged(ack: AckContract, status: number, body: string): AckVerdict {
  if (!ack.statuses.some(([lo, hi]) => status >= lo && status <= hi)) {
    return { acknowledged: false, reason: `status ${status} is not an acknowledgment` };
  }
  if (ack.bodies && ack.bodies.length > 0 && !ack.bodies.includes(body)) {
    return { acknowledged: false, reason: `response body ${JSON.stringify(excerpt(body, 120))} is not an expected acknowledgment` };
  }
  return { acknowledged: true };
}

/** How many attempts the policy allows in all (the first one included). */
export function maxAttempts(policy: RetryPolicy): number {
  return policy.kind === "schedule" ? policy.delaysMs.length + 1 : policy.attempts;
}

/**
 * When to try again after `attemptsMade` failed attempts (the latest failing at `failedAt`);
 * null when the policy is exhausted. `retryAfterMs` (from 429/503) is a floor, never shortened.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attemptsMade: number,
  failedAt: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number | null {
  if (attemptsMade >= maxAttempts(policy)) return null;
  const delay = retryDelay(policy, attemptsMade, random);
  const floor = retryAfterMs === null ? 0 : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return failedAt + Math.max(delay, floor);
}

function retryDelay(policy: RetryPolicy, attemptsMade: number, random: () => number): number {
  if (policy.kind === "schedule") return policy.delaysMs[attemptsMade - 1];
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** (attemptsMade - 1));
  // Full jitter spreads a burst of failures instead of retrying them in lockstep.
  return policy.jitter ? Math.round(random() * cap) : cap;
}

/** Parses a Retry-After header (delta seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** Statuses whose Retry-After we honour. */
export function honoursRetryAfter(status: number): boolean {
  return status === 429 || status === 503;
}

export function excerpt(text: string, max = 1024): string {
  return text.length <= max ? text : text.slice(0, max);
}
