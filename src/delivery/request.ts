import type { DestinationConfig } from "../config/types.ts";
import { signatureHeaders } from "../signing/index.ts";

export interface OutboundMessage {
  deliveryId: string;
  eventType: string;
  /** Exact bytes to send (already transformed at ingest). */
  body: string;
}

export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The exact request a destination gets for a delivery at `now`: static headers, id headers, signatures. */
export function buildRequest(dest: DestinationConfig, msg: OutboundMessage, now: number): OutboundRequest {
  const unix = Math.floor(now / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": dest.userAgent,
    "x-relay-delivery-id": msg.deliveryId,
    "x-relay-event-type": msg.eventType,
    ...dest.headers,
  };
  if (dest.eventHeader) headers[dest.eventHeader] = msg.eventType;
  if (dest.idHeader) headers[dest.idHeader] = msg.deliveryId;
  if (dest.timestampHeader) headers[dest.timestampHeader] = String(unix);
  if (dest.sign) Object.assign(headers, signatureHeaders(dest.sign, { id: msg.deliveryId, timestamp: unix, body: msg.body }));
  return { url: dest.url, headers, body: msg.body };
}
