import type { Clock } from "../clock.ts";
import type { DestinationConfig } from "../config/types.ts";
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
): Promise<Settlement> {
  let result: AttemptResult;
  try {
    const req = buildRequest(dest, { deliveryId: d.id, eventType: d.eventType, body: d.body }, clock.now());
    result = await sendAttempt(req, dest.timeoutMs, clock);
  } catch (error) {
    result = { startedAt: clock.now(), durationMs: 0, statusCode: null, responseBody: "", retryAfterMs: null, error: String(error) };
  }
  return settlementFor(dest, d, result, random);
}
