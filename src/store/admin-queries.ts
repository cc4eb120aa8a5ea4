import { and, count, desc, eq, gte, inArray, isNotNull, lt, ne, sql as raw, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { deliveries, events, type DeliveryStatus } from "./schema.ts";
import type { Database } from "bun:sqlite";
import { eventDetail, type RawAttempt, type RawDelivery, type RawEvent, toAttempt, toDelivery } from "./rows.ts";

// Reads and repairs for the admin API: events, deliveries and attempts, retries, discards, replays (stats: admin-stats.ts).
// The lists and repairs through drizzle (cold paths, filters composed per request); lookups by key stay prepared SQL.

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["pending", "in_flight", "delivered", "dead", "held_for_digest", "digested", "discarded"];

/** Every delivery column but the body, which only the event view shows. */
const deliveryRow = {
  id: deliveries.id,
  eventId: deliveries.eventId,
  digestId: deliveries.digestId,
  route: deliveries.route,
  destination: deliveries.destination,
  eventType: deliveries.eventType,
  status: deliveries.status,
  attempts: deliveries.attempts,
  nextAttemptAt: deliveries.nextAttemptAt,
  lastError: deliveries.lastError,
  createdAt: deliveries.createdAt,
  deliveredAt: deliveries.deliveredAt,
};

/** An admin's retry: back in line at `now`; the history stays, the counter restarts so the whole retry schedule applies again. */
const retried = (now: number) => ({ status: "pending" as const, attempts: 0, nextAttemptAt: now, leaseUntil: null, lastError: null });
const where = (conditions: Array<SQL | undefined>) => and(...conditions.filter((c) => c !== undefined));

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

  const db = drizzle(sqlite);
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
  const insertTest = sqlite.query(
    `INSERT INTO deliveries (id, event_id, route, destination, event_type, status, body, attempts, next_attempt_at, lease_until, created_at)
     VALUES ($id, NULL, 'test-send', $destination, $eventType, 'in_flight', $body, 0, $now, $leaseUntil, $now)`,
  );

  /** The newest `searchWindow` events in the query's id range: the one row at the window's end and one past it. */
  function searchWindow(q: EventQuery): SearchWindow {
    const range = where([
      q.sinceId === undefined ? undefined : gte(events.id, q.sinceId),
      q.untilId === undefined ? undefined : lt(events.id, q.untilId),
      q.cursor === undefined ? undefined : lt(events.id, q.cursor),
    ]);
    const columns = { id: events.id, receivedAt: events.receivedAt };
    const edge = db.select(columns).from(events).where(range).orderBy(desc(events.id)).limit(2).offset((q.searchWindow ?? SEARCH_WINDOW) - 1).all();
    if (edge.length > 0) return { end: edge[0], more: edge.length === 2 };
    const oldest = db.select(columns).from(events).where(range).orderBy(events.id).limit(1).all();
    return { end: oldest[0] ?? null, more: false };
  }

  return {
    /** Newest first; filters combine with AND. A text search reads one window of events per page (SEARCH_WINDOW). */
    listEvents(q: EventQuery): EventPage {
      const window = q.text === undefined ? null : searchWindow(q);
      const rows = db
        .select({ id: events.id, source: events.source, type: events.type, receivedAt: events.receivedAt })
        .from(events)
        .where(
          where([
            q.source === undefined ? undefined : eq(events.source, q.source),
            q.type === undefined ? undefined : eq(events.type, q.type),
            // Ids begin with their receive time: a time range is a range of the primary key.
            q.sinceId === undefined ? undefined : gte(events.id, q.sinceId),
            q.untilId === undefined ? undefined : lt(events.id, q.untilId),
            q.cursor === undefined ? undefined : lt(events.id, q.cursor),
            window?.end ? gte(events.id, window.end.id) : undefined,
            q.text === undefined ? undefined : raw`${events.body} LIKE ${`%${escapeLike(q.text)}%`} ESCAPE '\\'`,
            q.status === undefined
              ? undefined
              : inArray(events.id, db.select({ id: deliveries.eventId }).from(deliveries).where(and(eq(deliveries.status, q.status), isNotNull(deliveries.eventId)))),
          ]),
        )
        .orderBy(desc(events.id))
        .limit(q.limit + 1)
        .all();
      const page = eventPage(rows, q.limit, window);
      const counts = new Map<string, Record<string, number>>(page.items.map((r) => [r.id, {}]));
      if (page.items.length > 0) {
        const grouped = db
          .select({ eventId: deliveries.eventId, status: deliveries.status, n: count() })
          .from(deliveries)
          .where(inArray(deliveries.eventId, [...counts.keys()]))
          .groupBy(deliveries.eventId, deliveries.status)
          .all();
        for (const c of grouped) counts.get(c.eventId!)![c.status] = c.n;
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
      const query = db
        .select(deliveryRow)
        .from(deliveries)
        .where(
          where([
            q.status === undefined ? undefined : eq(deliveries.status, q.status),
            q.destination === undefined ? undefined : eq(deliveries.destination, q.destination),
            q.cursor === undefined ? undefined : lt(deliveries.id, q.cursor),
          ]),
        )
        .orderBy(desc(deliveries.id))
        .limit(q.limit + 1)
        .toSQL();
      // Statuses an admin filters on (dead, pending) are few rows; left alone, the planner may walk a destination's whole history instead.
      const text = q.status === undefined ? query.sql : query.sql.replace(/^(select .*? from "deliveries")/, "$1 INDEXED BY deliveries_due");
      const rows = sqlite.query<Omit<RawDelivery, "body">, Array<string | number>>(text).all(...(query.params as Array<string | number>));
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
      const done = db.update(deliveries).set(retried(now)).where(and(eq(deliveries.id, id), eq(deliveries.status, "dead"), ne(deliveries.body, ""))).returning({ id: deliveries.id }).all();
      return done.length === 1 ? "retried" : "not_dead";
    },

    /** Every dead delivery of a destination that has a body back to pending; returns how many. */
    retryDead(destination: string, now: number): number {
      return db.update(deliveries).set(retried(now)).where(and(eq(deliveries.status, "dead"), eq(deliveries.destination, destination), ne(deliveries.body, ""))).returning({ id: deliveries.id }).all().length;
    },

    /** A dead delivery given up: `discarded` (kept in the history, never sent again, no longer counted as dead). False when it is not dead. */
    discardDelivery(id: string): boolean {
      return db.update(deliveries).set({ status: "discarded", leaseUntil: null }).where(and(eq(deliveries.id, id), eq(deliveries.status, "dead"))).returning({ id: deliveries.id }).all().length === 1;
    },

    /** Every dead delivery of a destination discarded; returns how many. */
    discardDead(destination: string): number {
      return db.update(deliveries).set({ status: "discarded", leaseUntil: null }).where(and(eq(deliveries.status, "dead"), eq(deliveries.destination, destination))).returning({ id: deliveries.id }).all().length;
    },

    /** A test-send row, leased at once so the worker leaves it to the admin call that settles it. */
    insertTestDelivery(d: TestDelivery): void {
      insertTest.run({ id: d.id, destination: d.destination, eventType: d.eventType, body: d.body, now: d.now, leaseUntil: d.leaseUntil });
    },
  };
}

/** `\`, `%` and `_` matched literally under ESCAPE '\'. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
