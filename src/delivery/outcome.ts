import type { DestinationConfig } from "../config/types.ts";
import type { ClaimedDelivery, Settlement } from "../store/types.ts";
import { excerpt, honoursRetryAfter, isAcknowledged, nextAttemptAt } from "./policy.ts";
import type { AttemptResult } from "./send.ts";

/** Pure: what an attempt's result means for its delivery (delivered, retry at, or dead). */
export function settlementFor(
  dest: DestinationConfig,
  delivery: ClaimedDelivery,
  result: AttemptResult,
  random: () => number = Math.random,
): Settlement {
  const attempt = {
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    statusCode: result.statusCode,
    response: result.statusCode === null ? null : excerpt(result.responseBody),
    error: result.error,
  };
  // The policy will refuse it again: not retried until the config changes (a reload revives it).
  if (result.refused) return { deliveryId: delivery.id, destination: delivery.destination, attempt, outcome: "dead", error: result.refused };
  let error = result.error;
  if (result.statusCode !== null) {
    const verdict = isAcknowledged(dest.ack, result.statusCode, result.responseBody);
    if (verdict.acknowledged) {
      return { deliveryId: delivery.id, destination: delivery.destination, attempt, outcome: "delivered", at: result.startedAt + result.durationMs };
    }
    error = verdict.reason;
    attempt.error = verdict.reason;
  }
  const failedAt = result.startedAt + result.durationMs;
  const retryAfter = result.statusCode !== null && honoursRetryAfter(result.statusCode) ? result.retryAfterMs : null;
  const next = nextAttemptAt(dest.retry, delivery.attempts + 1, failedAt, retryAfter, random);
  const reason = error ?? "failed";
  if (next === null) return { deliveryId: delivery.id, destination: delivery.destination, attempt, outcome: "dead", error: reason };
  return { deliveryId: delivery.id, destination: delivery.destination, attempt, outcome: "retry", nextAttemptAt: next, error: reason };
}
