import type { DeliveryStatus } from "./schema.ts";
import type { Database } from "bun:sqlite";
import { eventDetail, type RawAttempt, type RawDelivery, type RawEvent, toAttempt, toDelivery } from "./rows.ts";

// Reads and repairs for the admin API: events, deliveries and attempts, retries, discards, replays (stats: admin-stats.ts).

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["pending", "in_flight", "delivered", "dead", "held_for_digest", "digested", "discarded"];

/** Every delivery column but the body, which only the event view shows. */
const LIST_COLUMNS =
  "id, event_id, digest_id, route, destination, event_type, status, attempts, next_attempt_at, lease_until, last_error, created_at, delivered_at";

export interface EventQuery {
  source?: string;
  type?: string;
  /** Events with at least one delivery in this status. */
  status?: DeliveryStatus;
  /** Events received at or after a time, given as the lowest id of that time (`idFloor` in src/ids.ts). */
  sinceId?: string;
  /** Events received before a time, given as the lowest id of that time. */
  untilId?: string;
  /** Substring of the raw body; LIKE wildcards in it are taken literally (ASCII case-insensitive). */
  text?: string;
  /** Only ids below this one (the previous page's nextCursor). */
  cursor?: string;
  limit: number;
  /** A text search reads at most this many events, newest first below the cursor (default SEARCH_WINDOW). */
  searchWindow?: number;
}

/** Events one body-text search reads at most: its cost is bounded whatever the store holds; `nextCursor` goes on. */
export const SEARCH_WINDOW = 10_000;

/** A page of events; a text search also says how far back it read. */
export interface EventPage extends Page<EventSummary> {
  /** With text: receive time of the oldest event this page read (older ones: follow nextCursor); otherwise null. */
  searchedUntil: number | null;
}

/** The events a text search reads: down to `end`, the oldest of them (null: none in range); `more` older remain. */
export interface SearchWindow {
  end: { id: string; receivedAt: number } | null;
  more: boolean;
}

/** Up to limit + 1 matching rows, newest first, as a page; a text search's cursor continues below its window. */
export function eventPage<T extends { id: string; receivedAt: number }>(rows: T[], limit: number, window: SearchWindow | null) {
  const items = rows.slice(0, limit);
  if (rows.length > limit) {
    const last = items[items.length - 1];
    return { items, nextCursor: last.id, searchedUntil: window ? last.receivedAt : null };
  }
  if (!window) return { items, nextCursor: null, searchedUntil: null };
  return { items, nextCursor: window.more ? window.end!.id : null, searchedUntil: window.end?.receivedAt ?? null };
}

export interface EventSummary {
  id: string;
  source: string;
  type: string;
  receivedAt: number;
  /** Delivery count per status. */
  deliveries: Record<string, number>;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

export interface StoredEvent {
  id: string;
  source: string;
  type: string;
  receivedAt: number;
  headers: Record<string, string>;
  body: string;
  idempotencyKey: string | null;
}

export interface DeliveryRow {
  id: string;
  eventId: string | null;
  digestId: string | null;
  route: string;
  destination: string;
  eventType: string;
  status: DeliveryStatus;
  /** Attempts since the delivery was created or last retried by an admin. */
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** A delivery with the exact body it sends and every attempt ever made, oldest first. */
export type DeliveryDetail = DeliveryRow & { body: string; history: AttemptRow[] };

export interface AttemptRow {
  id: number;
  deliveryId: string;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  response: string | null;
  error: string | null;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  destination?: string;
  cursor?: string;
  limit: number;
}

export type RetryResult = "retried" | "not_found" | "not_dead" | "no_body";

export interface DestinationCounts {
  pending: number;
  inFlight: number;
  dead: number;
  held: number;
}

export interface DestinationWindow {
  /** Acknowledged attempts (each one a delivery delivered). */
  sent: number;
  /** Attempts that recorded an error (refused, timed out, or not acknowledged). */
  failed: number;
  /** Nearest-rank percentiles of every attempt's duration, failures included. */
  p50: number;
  p95: number;
  p99: number;
}

export interface TestDelivery {
  id: string;
  destination: string;
  eventType: string;
  body: string;
  now: number;
  leaseUntil: number;
}

export type AdminQueries = ReturnType<typeof adminQueries>;

export function adminQueries(store: { sqlite: Database }) {
  const { sqlite } = store;

  const eventDeliveryCounts = sqlite.query<{ event_id: string; status: string; n: number }, { ids: string }>(
    `SELECT event_id, status, count(*) AS n FROM deliveries WHERE event_id IN (SELECT value FROM json_each($ids))
     GROUP BY event_id, status`,
  );
  const selectEvent = sqlite.query<RawEvent, { id: string }>(
    `SELECT id, source, type, received_at, headers, body, idempotency_key FROM events WHERE id = $id`,
  );
  const selectEventDeliveries = sqlite.query<RawDelivery, { id: string }>(
    `SELECT * FROM deliveries WHERE event_id = $id ORDER BY id`,
  );
  const selectEventAttempts = sqlite.query<RawAttempt, { id: string }>(
    `SELECT a.* FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = $id ORDER BY a.id`,
  );
  const selectDelivery = sqlite.query<RawDelivery, { id: string }>(`SELECT * FROM deliveries WHERE id = $id`);
  const selectDeliveryAttempts = sqlite.query<RawAttempt, { id: string }>(
    `SELECT * FROM attempts WHERE delivery_id = $id ORDER BY id`,
  );
  // The attempt history stays; the counter restarts so the destination's whole retry schedule applies again.
  const resetOne = sqlite.query<unknown, { id: string; now: number }>(
    `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $now, lease_until = NULL, last_error = NULL
     WHERE id = $id AND status = 'dead' AND body <> ''`,
  );
  const resetDestination = sqlite.query<unknown, { destination: string; now: number }>(
    `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $now, lease_until = NULL, last_error = NULL
     WHERE status = 'dead' AND destination = $destination AND body <> ''`,
  );
  // Discarded: given up by an admin; kept in the history, never sent again, no longer counted as dead.
  const discardOne = sqlite.query<unknown, { id: string }>(`UPDATE deliveries SET status = 'discarded', lease_until = NULL WHERE id = $id AND status = 'dead'`);
  const discardDestination = sqlite.query<unknown, { destination: string }>(
    `UPDATE deliveries SET status = 'discarded', lease_until = NULL WHERE status = 'dead' AND destination = $destination`,
  );
  const insertTest = sqlite.query(
    `INSERT INTO deliveries (id, event_id, route, destination, event_type, status, body, attempts, next_attempt_at, lease_until, created_at)
     VALUES ($id, NULL, 'test-send', $destination, $eventType, 'in_flight', $body, 0, $now, $leaseUntil, $now)`,
  );

  /** The newest `searchWindow` events in the query's id range: the one row at the window's end and one past it. */
  function searchWindow(q: EventQuery): SearchWindow {
    const { where, params } = conditions(2, [
      ["id >= $since", "since", q.sinceId],
      ["id < $until", "until", q.untilId],
      ["id < $cursor", "cursor", q.cursor],
    ]);
    params.skip = (q.searchWindow ?? SEARCH_WINDOW) - 1;
    type Row = { id: string; receivedAt: number };
    const edge = sqlite.query<Row, Params>(`SELECT id, received_at AS receivedAt FROM events ${where} ORDER BY id DESC LIMIT $limit OFFSET $skip`).all(params);
    if (edge.length > 0) return { end: edge[0], more: edge.length === 2 };
    delete params.skip;
    const oldest = sqlite.query<Row, Params>(`SELECT id, received_at AS receivedAt FROM events ${where} ORDER BY id LIMIT $limit`).get(params);
    return { end: oldest, more: false };
  }

  return {
    /** Newest first; filters combine with AND. A text search reads one window of events per page (SEARCH_WINDOW). */
    listEvents(q: EventQuery): EventPage {
      const window = q.text === undefined ? null : searchWindow(q);
      const { where, params } = conditions(q.limit + 1, [
        ["source = $source", "source", q.source],
        ["type = $type", "type", q.type],
        // Ids begin with their receive time: a time range is a range of the primary key.
        ["id >= $since", "since", q.sinceId],
        ["id < $until", "until", q.untilId],
        ["id < $cursor", "cursor", q.cursor],
        ["id >= $end", "end", window?.end?.id],
        [`body LIKE $pattern ESCAPE '\\'`, "pattern", q.text === undefined ? undefined : `%${escapeLike(q.text)}%`],
        ["id IN (SELECT event_id FROM deliveries WHERE status = $status AND event_id IS NOT NULL)", "status", q.status],
      ]);
      const sql = `SELECT id, source, type, received_at AS receivedAt FROM events ${where} ORDER BY id DESC LIMIT $limit`;
      const rows = sqlite.query<{ id: string; source: string; type: string; receivedAt: number }, Params>(sql).all(params);
      const page = eventPage(rows, q.limit, window);
      const counts = new Map<string, Record<string, number>>(page.items.map((r) => [r.id, {}]));
      if (page.items.length > 0) {
        for (const c of eventDeliveryCounts.all({ ids: JSON.stringify(page.items.map((r) => r.id)) })) counts.get(c.event_id)![c.status] = c.n;
      }
      return { ...page, items: page.items.map((r) => ({ ...r, deliveries: counts.get(r.id)! })) };
    },

    /** The event with every delivery (oldest first) and every attempt of each; null when unknown. */
    getEvent(id: string): { event: StoredEvent; deliveries: DeliveryDetail[] } | null {
      const raw = selectEvent.get({ id });
      return raw ? eventDetail(raw, selectEventDeliveries.all({ id }), selectEventAttempts.all({ id })) : null;
    },

    /** Newest first (ids sort by creation time). */
    listDeliveries(q: DeliveryQuery): Page<DeliveryRow> {
      const { where, params } = conditions(q.limit + 1, [
        ["status = $status", "status", q.status],
        ["destination = $destination", "destination", q.destination],
        ["id < $cursor", "cursor", q.cursor],
      ]);
      // Statuses an admin filters on (dead, pending) are few rows; left alone, the planner may walk a destination's whole history instead.
      const table = q.status === undefined ? "deliveries" : "deliveries INDEXED BY deliveries_due";
      const sql = `SELECT ${LIST_COLUMNS} FROM ${table} ${where} ORDER BY id DESC LIMIT $limit`;
      const rows = sqlite.query<Omit<RawDelivery, "body">, Params>(sql).all(params);
      const page = rows.slice(0, q.limit).map(toDelivery);
      return { items: page, nextCursor: rows.length > q.limit ? page[page.length - 1].id : null };
    },

    getDelivery(id: string): DeliveryDetail | null {
      const raw = selectDelivery.get({ id });
      return raw ? { ...toDelivery(raw), body: raw.body, history: selectDeliveryAttempts.all({ id }).map(toAttempt) } : null;
    },

    /** A dead delivery back to pending, due at `now`; a dead row without a body (failed transform) cannot be resent. */
    retryDelivery(id: string, now: number): RetryResult {
      const row = selectDelivery.get({ id });
      if (!row) return "not_found";
      if (row.status !== "dead") return "not_dead";
      if (row.body === "") return "no_body";
      return resetOne.run({ id, now }).changes === 1 ? "retried" : "not_dead";
    },

    /** Every dead delivery of a destination that has a body back to pending; returns how many. */
    retryDead(destination: string, now: number): number {
      return resetDestination.run({ destination, now }).changes;
    },

    /** A dead delivery given up: `discarded`, with its history kept. False when it is not dead. */
    discardDelivery(id: string): boolean {
      return discardOne.run({ id }).changes === 1;
    },

    /** Every dead delivery of a destination discarded; returns how many. */
    discardDead(destination: string): number {
      return discardDestination.run({ destination }).changes;
    },

    /** A test-send row, leased at once so the worker leaves it to the admin call that settles it. */
    insertTestDelivery(d: TestDelivery): void {
      insertTest.run({ id: d.id, destination: d.destination, eventType: d.eventType, body: d.body, now: d.now, leaseUntil: d.leaseUntil });
    },
  };
}

type Params = Record<string, string | number>;

/** A WHERE clause of the conditions whose value is set, and its parameters (with the limit). */
function conditions(limit: number, candidates: Array<[clause: string, param: string, value: string | number | undefined]>) {
  const params: Params = { limit };
  const clauses: string[] = [];
  for (const [clause, param, value] of candidates) {
    if (value === undefined) continue;
    clauses.push(clause);
    params[param] = value;
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/** `\`, `%` and `_` matched literally under ESCAPE '\'. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
