import type { DeliveryStatus } from "./schema.ts";
import type { Database } from "bun:sqlite";
import { eventDetail, openCountsOf, type RawAttempt, type RawDelivery, type RawEvent, toAttempt, toDelivery } from "./rows.ts";

// Reads and repairs for the admin API: events, deliveries and attempts, retries, replays, stats.

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["pending", "in_flight", "delivered", "dead", "held_for_digest", "digested"];

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
  const insertTest = sqlite.query(
    `INSERT INTO deliveries (id, event_id, route, destination, event_type, status, body, attempts, next_attempt_at, lease_until, created_at)
     VALUES ($id, NULL, 'test-send', $destination, $eventType, 'in_flight', $body, 0, $now, $leaseUntil, $now)`,
  );
  const openCounts = sqlite.query<{ destination: string; status: string; n: number }, []>(
    `SELECT destination, status, count(*) AS n FROM deliveries
     WHERE status IN ('pending', 'in_flight', 'dead', 'held_for_digest') GROUP BY destination, status`,
  );
  // Nearest rank: the p-th percentile of n sorted values is the ceil(p·n/100)-th.
  const windowStats = sqlite.query<RawWindow, { since: number; until: number }>(
    `WITH w AS (
       SELECT d.destination AS destination, a.duration_ms AS ms, a.error IS NULL AS ok,
              row_number() OVER (PARTITION BY d.destination ORDER BY a.duration_ms) AS rn,
              count(*) OVER (PARTITION BY d.destination) AS n
       FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE a.started_at >= $since AND a.started_at <= $until
     )
     SELECT destination, sum(ok) AS sent, max(n) - sum(ok) AS failed,
            max(CASE WHEN rn = (50 * n + 99) / 100 THEN ms END) AS p50,
            max(CASE WHEN rn = (95 * n + 99) / 100 THEN ms END) AS p95,
            max(CASE WHEN rn = (99 * n + 99) / 100 THEN ms END) AS p99
     FROM w GROUP BY destination`,
  );
  const lastDelivered = sqlite.query<{ at: number | null }, { destination: string }>(
    `SELECT max(delivered_at) AS at FROM deliveries WHERE destination = $destination AND delivered_at IS NOT NULL`,
  );
  // A loose index scan: one seek per distinct destination instead of reading every delivery.
  const storedDestinations = sqlite.query<{ name: string }, []>(
    `WITH RECURSIVE names(name) AS (
       SELECT min(destination) FROM deliveries
       UNION ALL
       SELECT (SELECT min(destination) FROM deliveries WHERE destination > names.name) FROM names WHERE names.name IS NOT NULL
     )
     SELECT name FROM names WHERE name IS NOT NULL`,
  );

  return {
    /** Newest first; filters combine with AND. */
    listEvents(q: EventQuery): Page<EventSummary> {
      const { where, params } = conditions(q.limit + 1, [
        ["source = $source", "source", q.source],
        ["type = $type", "type", q.type],
        // Ids begin with their receive time: a time range is a range of the primary key.
        ["id >= $since", "since", q.sinceId],
        ["id < $until", "until", q.untilId],
        ["id < $cursor", "cursor", q.cursor],
        [`body LIKE $pattern ESCAPE '\\'`, "pattern", q.text === undefined ? undefined : `%${escapeLike(q.text)}%`],
        ["id IN (SELECT event_id FROM deliveries WHERE status = $status AND event_id IS NOT NULL)", "status", q.status],
      ]);
      const sql = `SELECT id, source, type, received_at FROM events ${where} ORDER BY id DESC LIMIT $limit`;
      const rows = sqlite.query<{ id: string; source: string; type: string; received_at: number }, Params>(sql).all(params);
      const page = rows.slice(0, q.limit);
      const counts = new Map<string, Record<string, number>>(page.map((r) => [r.id, {}]));
      if (page.length > 0) {
        for (const c of eventDeliveryCounts.all({ ids: JSON.stringify(page.map((r) => r.id)) })) counts.get(c.event_id)![c.status] = c.n;
      }
      return {
        items: page.map((r) => ({ id: r.id, source: r.source, type: r.type, receivedAt: r.received_at, deliveries: counts.get(r.id)! })),
        nextCursor: rows.length > q.limit ? page[page.length - 1].id : null,
      };
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

    /** A test-send row, leased at once so the worker leaves it to the admin call that settles it. */
    insertTestDelivery(d: TestDelivery): void {
      insertTest.run({ id: d.id, destination: d.destination, eventType: d.eventType, body: d.body, now: d.now, leaseUntil: d.leaseUntil });
    },

    /** Destinations with at least one delivery row, configured or not. */
    storedDestinations(): string[] {
      return storedDestinations.all().map((r) => r.name);
    },

    /** Deliveries still open, per destination. */
    openCounts(): Map<string, DestinationCounts> {
      return openCountsOf(openCounts.all());
    },

    /** Attempts started in [since, until], per destination. */
    attemptWindow(since: number, until: number): Map<string, DestinationWindow> {
      return new Map(windowStats.all({ since, until }).map((r) => [r.destination, { sent: r.sent, failed: r.failed, p50: r.p50, p95: r.p95, p99: r.p99 }]));
    },

    lastDeliveredAt(destination: string): number | null {
      return lastDelivered.get({ destination })?.at ?? null;
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

interface RawWindow {
  destination: string;
  sent: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
}
