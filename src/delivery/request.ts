import { DEFAULTS } from "../config/defaults.ts";
import type { DestinationConfig } from "../config/types.ts";
import { signatureHeaders } from "../signing/index.ts";

export interface OutboundMessage {
  deliveryId: string;
  /** The event the delivery carries; null for digests and test sends. */
  eventId?: string | null;
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
  // Receivers that verify JSON.stringify(req.body) need these exact bytes, whatever the route's transform.
  const body = dest.sign?.scheme.reserialized ? reserialize(msg.body) : msg.body;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": dest.userAgent,
    "x-relay-delivery-id": msg.deliveryId,
    "x-relay-event-type": msg.eventType,
  };
  // A static header replaces a default one whatever its case (User-Agent vs user-agent).
  for (const [name, value] of Object.entries(dest.headers)) {
    const lower = name.toLowerCase();
    if (lower !== name && Object.hasOwn(headers, lower)) delete headers[lower];
    headers[name] = value;
  }
  if (dest.eventHeader) headers[dest.eventHeader] = msg.eventType;
  if (dest.idHeader) headers[dest.idHeader] = idValue(dest, msg);
  if (dest.timestampHeader) headers[dest.timestampHeader] = timestampValue(dest.timestampFormat, now);
  if (dest.sign) Object.assign(headers, signatureHeaders(dest.sign, { id: msg.deliveryId, timestamp: unix, body }));
  return { url: dest.url, headers, body };
}

/** JSON.stringify(JSON.parse(body)); a body that is not JSON is sent as it is. */
export function reserialize(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body));
  } catch {
    return body;
  }
}

// Defaults: what VAI's sender puts in X-VAI-Webhook-ID (the webhook's id) and X-VAI-Timestamp (Date.now()).
function idValue(dest: DestinationConfig, msg: OutboundMessage): string {
  const from = dest.idValue ?? DEFAULTS.idValue;
  if (from === "delivery") return msg.deliveryId;
  if (from === "event") return msg.eventId ?? msg.deliveryId;
  return dest.name;
}

function timestampValue(format: DestinationConfig["timestampFormat"] = DEFAULTS.timestampFormat, now: number): string {
  if (format === "s") return String(Math.floor(now / 1000));
  if (format === "iso") return new Date(now).toISOString();
  return String(Math.floor(now));
}
