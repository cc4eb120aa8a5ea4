import type { Clock } from "../clock.ts";
import type { DestinationConfig, EgressPolicy } from "../config/types.ts";
import type { ClaimedDelivery, Settlement } from "../store/types.ts";
import { settlementFor } from "./outcome.ts";
import { buildRequest } from "./request.ts";
import { sendAttempt, type AttemptResult } from "./send.ts";

/** One attempt of a delivery, start to verdict: request, signature, send, acknowledgment contract, next step. */
export async function attemptDelivery(
  dest: DestinationConfig,
  d: ClaimedDelivery,
  clock: Clock,
  random: () => number = Math.random,
  egress?: EgressPolicy,
): Promise<Settlement> {
  let result: AttemptResult;
  try {
    const req = buildRequest(dest, { deliveryId: d.id, eventId: d.eventId, eventType: d.eventType, body: d.body }, clock.now());
    result = await sendAttempt(req, dest.timeoutMs, clock, egress);
  } catch (error) {
    result = { startedAt: clock.now(), durationMs: 0, statusCode: null, responseBody: "", retryAfterMs: null, error: String(error) };
  }
  return settlementFor(dest, d, result, random);
}
