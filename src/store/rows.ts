import type { AttemptRow, DeliveryDetail, DeliveryRow, DestinationCounts, StoredEvent } from "./admin-queries.ts";
import type { DigestPart, DigestRecord } from "./digests.ts";
import type { DeliveryStatus } from "./schema.ts";
import type { ClaimedDelivery } from "./writes.ts";

// Rows as both databases return them (snake_case columns), and the values the rest of Relay sees.

export interface RawEvent {
  id: string;
  source: string;
  type: string;
  received_at: number;
  headers: string;
  body: string;
  idempotency_key: string | null;
}

export interface RawDelivery {
  id: string;
  event_id: string | null;
  digest_id: string | null;
  route: string;
  destination: string;
  event_type: string;
  status: DeliveryStatus;
  body: string;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface RawAttempt {
  id: number;
  delivery_id: string;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  response: string | null;
  error: string | null;
}

export interface RawClaimed {
  id: string;
  event_id: string | null;
  digest_id: string | null;
  route: string;
  destination: string;
  event_type: string;
  body: string;
  attempts: number;
  created_at: number;
}

export interface RawDigest {
  id: string;
  destination: string;
  window_start: number;
  window_end: number;
  part: number;
  parts: number;
  item_count: number;
  delivery_id: string | null;
  created_at: number;
  status: string | null;
  attempts: number | null;
  last_error: string | null;
}

export function toDelivery(r: Omit<RawDelivery, "body">): DeliveryRow {
  return {
    id: r.id,
    eventId: r.event_id,
    digestId: r.digest_id,
    route: r.route,
    destination: r.destination,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}

export function toAttempt(r: RawAttempt): AttemptRow {
  return {
    id: r.id,
    deliveryId: r.delivery_id,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    response: r.response,
    error: r.error,
  };
}

export function toClaimed(r: RawClaimed): ClaimedDelivery {
  return {
    id: r.id,
    eventId: r.event_id,
    digestId: r.digest_id,
    route: r.route,
    destination: r.destination,
    eventType: r.event_type,
    body: r.body,
    attempts: r.attempts,
    createdAt: r.created_at,
  };
}

export function toPart(r: RawDigest): DigestPart {
  return { id: r.id, deliveryId: r.delivery_id, part: r.part, parts: r.parts, items: r.item_count };
}

export function toRecord(r: RawDigest): DigestRecord {
  return {
    ...toPart(r),
    destination: r.destination,
    windowStart: r.window_start,
    windowEnd: r.window_end,
    createdAt: r.created_at,
    status: r.delivery_id ? r.status : null,
    attempts: r.delivery_id ? r.attempts : null,
    lastError: r.delivery_id ? r.last_error : null,
  };
}

/** An event with every delivery (oldest first) and each one's attempts, from its rows. */
export function eventDetail(raw: RawEvent, deliveries: RawDelivery[], attempts: RawAttempt[]): { event: StoredEvent; deliveries: DeliveryDetail[] } {
  const history = new Map<string, AttemptRow[]>();
  for (const a of attempts.map(toAttempt)) {
    const list = history.get(a.deliveryId) ?? [];
    list.push(a);
    history.set(a.deliveryId, list);
  }
  return {
    event: {
      id: raw.id,
      source: raw.source,
      type: raw.type,
      receivedAt: raw.received_at,
      headers: JSON.parse(raw.headers) as Record<string, string>,
      body: raw.body,
      idempotencyKey: raw.idempotency_key,
    },
    deliveries: deliveries.map((d) => ({ ...toDelivery(d), body: d.body, history: history.get(d.id) ?? [] })),
  };
}

/** A window's held items as digest parts of at most `maxItems`; an empty window is one empty part. */
export function digestChunks<T>(held: T[], maxItems: number): T[][] {
  const size = Math.max(1, Math.floor(maxItems));
  const chunks: T[][] = [];
  for (let i = 0; i < held.length; i += size) chunks.push(held.slice(i, i + size));
  if (chunks.length === 0) chunks.push([]);
  return chunks;
}

/** Open deliveries per destination from (destination, status, count) rows. */
export function openCountsOf(rows: Array<{ destination: string; status: string; n: number }>): Map<string, DestinationCounts> {
  const out = new Map<string, DestinationCounts>();
  for (const r of rows) {
    const c = out.get(r.destination) ?? { pending: 0, inFlight: 0, dead: 0, held: 0 };
    if (r.status === "pending") c.pending = r.n;
    else if (r.status === "in_flight") c.inFlight = r.n;
    else if (r.status === "dead") c.dead = r.n;
    else c.held = r.n;
    out.set(r.destination, c);
  }
  return out;
}
