import { and, asc, count, desc, eq, gte, inArray, isNotNull, lt, max, ne, sql as raw, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { escapeLike, eventPage, SEARCH_WINDOW, type EventQuery, type SearchWindow } from "../admin-queries.ts";
import { eventDetail, openCountsOf, type RawAttempt, type RawDelivery, type RawEvent } from "../rows.ts";
import type { AdminStore, DestinationWindow } from "../types.ts";
import type { Sql } from "./connect.ts";
import { attempts, deliveries, events } from "./schema.ts";

// The admin API's reads and repairs on PostgreSQL, through drizzle where the query is plain; the same answers as
// ../admin-queries.ts.

/** A delivery as the admin API lists it (every column but the body). */
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

/** An admin's retry: back in line at `now`, the attempt counter restarted (the history stays). */
const retried = (now: number) => ({ status: "pending" as const, attempts: 0, nextAttemptAt: now, leaseUntil: null, leaseOwner: null, lastError: null });

/** The admin store but the per-destination activity (destination-activity.ts). */
export function pgAdmin(sql: Sql, owner: string): Omit<AdminStore, "oldestPending" | "lastError"> {
  const db = drizzle(sql);
  const where = (conditions: Array<SQL | undefined>) => and(...conditions.filter((c) => c !== undefined));

  /** The newest `searchWindow` events in the query's id range: the one row at the window's end and one past it. */
  async function searchWindow(q: EventQuery): Promise<SearchWindow> {
    const range = where([
      q.sinceId === undefined ? undefined : gte(events.id, q.sinceId),
      q.untilId === undefined ? undefined : lt(events.id, q.untilId),
      q.cursor === undefined ? undefined : lt(events.id, q.cursor),
    ]);
    const row = { id: events.id, receivedAt: events.receivedAt };
    const edge = await db.select(row).from(events).where(range).orderBy(desc(events.id)).limit(2).offset((q.searchWindow ?? SEARCH_WINDOW) - 1);
    if (edge.length > 0) return { end: edge[0], more: edge.length === 2 };
    const [oldest] = await db.select(row).from(events).where(range).orderBy(asc(events.id)).limit(1);
    return { end: oldest ?? null, more: false };
  }

  return {
    async listEvents(q) {
      const window = q.text === undefined ? null : await searchWindow(q);
      const rows = await db
        .select({ id: events.id, source: events.source, type: events.type, receivedAt: events.receivedAt })
        .from(events)
        .where(
          where([
            q.source === undefined ? undefined : eq(events.source, q.source),
            q.type === undefined ? undefined : eq(events.type, q.type),
            q.sinceId === undefined ? undefined : gte(events.id, q.sinceId),
            q.untilId === undefined ? undefined : lt(events.id, q.untilId),
            q.cursor === undefined ? undefined : lt(events.id, q.cursor),
            window?.end ? gte(events.id, window.end.id) : undefined,
            // Case-insensitive as SQLite's LIKE (which folds ASCII only; ILIKE folds every letter).
            q.text === undefined ? undefined : raw`${events.body} ILIKE ${`%${escapeLike(q.text)}%`} ESCAPE '\\'`,
            q.status === undefined
              ? undefined
              : inArray(events.id, db.select({ id: deliveries.eventId }).from(deliveries).where(and(eq(deliveries.status, q.status), isNotNull(deliveries.eventId)))),
          ]),
        )
        .orderBy(desc(events.id))
        .limit(q.limit + 1);
      const page = eventPage(rows, q.limit, window);
      const counts = new Map<string, Record<string, number>>(page.items.map((r) => [r.id, {}]));
      if (page.items.length > 0) {
        const grouped = await db
          .select({ eventId: deliveries.eventId, status: deliveries.status, n: count() })
          .from(deliveries)
          .where(inArray(deliveries.eventId, [...counts.keys()]))
          .groupBy(deliveries.eventId, deliveries.status);
        for (const c of grouped) counts.get(c.eventId!)![c.status] = c.n;
      }
      return { ...page, items: page.items.map((r) => ({ ...r, deliveries: counts.get(r.id)! })) };
    },

    async getEvent(id) {
      const [raw] = await sql<RawEvent[]>`SELECT id, source, type, received_at, headers, body, idempotency_key FROM events WHERE id = ${id}`;
      if (!raw) return null;
      const attempts = await sql<RawAttempt[]>`
        SELECT a.* FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = ${id} ORDER BY a.id`;
      const deliveries = await sql<RawDelivery[]>`SELECT * FROM deliveries WHERE event_id = ${id} ORDER BY id`;
      return eventDetail(raw, deliveries, attempts);
    },

    async listDeliveries(q) {
      const rows = await db
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
        .limit(q.limit + 1);
      const page = rows.slice(0, q.limit);
      return { items: page, nextCursor: rows.length > q.limit ? page[page.length - 1].id : null };
    },

    async getDelivery(id) {
      const [row] = await db.select({ ...deliveryRow, body: deliveries.body }).from(deliveries).where(eq(deliveries.id, id));
      if (!row) return null;
      const history = await db.select().from(attempts).where(eq(attempts.deliveryId, id)).orderBy(asc(attempts.id));
      return { ...row, history };
    },

    async retryDelivery(id, now) {
      const [row] = await db.select({ status: deliveries.status, body: deliveries.body }).from(deliveries).where(eq(deliveries.id, id));
      if (!row) return "not_found";
      if (row.status !== "dead") return "not_dead";
      if (row.body === "") return "no_body";
      const done = await db
        .update(deliveries)
        .set(retried(now))
        .where(and(eq(deliveries.id, id), eq(deliveries.status, "dead"), ne(deliveries.body, "")))
        .returning({ id: deliveries.id });
      return done.length === 1 ? "retried" : "not_dead";
    },

    async retryDead(destination, now) {
      const done = await db
        .update(deliveries)
        .set(retried(now))
        .where(and(eq(deliveries.status, "dead"), eq(deliveries.destination, destination), ne(deliveries.body, "")))
        .returning({ id: deliveries.id });
      return done.length;
    },

    async discardDelivery(id) {
      const done = await db
        .update(deliveries)
        .set({ status: "discarded", leaseUntil: null, leaseOwner: null })
        .where(and(eq(deliveries.id, id), eq(deliveries.status, "dead")))
        .returning({ id: deliveries.id });
      return done.length === 1;
    },

    async discardDead(destination) {
      const done = await db
        .update(deliveries)
        .set({ status: "discarded", leaseUntil: null, leaseOwner: null })
        .where(and(eq(deliveries.status, "dead"), eq(deliveries.destination, destination)))
        .returning({ id: deliveries.id });
      return done.length;
    },

    async eventsByIdempotencyKey(key, sources) {
      if (sources.length === 0) return [];
      const rows = await db
        .select({ id: events.id })
        .from(events)
        .where(and(inArray(events.source, [...sources]), eq(events.idempotencyKey, key)))
        .orderBy(asc(events.id));
      return rows.map((r) => r.id);
    },

    async insertTestDelivery(d) {
      await db.insert(deliveries).values({
        id: d.id,
        route: "test-send",
        destination: d.destination,
        eventType: d.eventType,
        status: "in_flight",
        body: d.body,
        nextAttemptAt: d.now,
        leaseUntil: d.leaseUntil,
        leaseOwner: owner,
        createdAt: d.now,
      });
    },

    async storedDestinations() {
      const rows = await db.selectDistinct({ name: deliveries.destination }).from(deliveries).orderBy(asc(deliveries.destination));
      return rows.map((r) => r.name);
    },

    async openCounts() {
      const rows = await db
        .select({ destination: deliveries.destination, status: deliveries.status, n: count() })
        .from(deliveries)
        .where(inArray(deliveries.status, ["pending", "in_flight", "dead", "held_for_digest"]))
        .groupBy(deliveries.destination, deliveries.status);
      return openCountsOf(rows);
    },

    async attemptWindow(since, until) {
      // Nearest rank, as on SQLite: the p-th percentile of n sorted values is the ceil(p·n/100)-th.
      const rows = await sql<(DestinationWindow & { destination: string })[]>`
        WITH w AS (
          SELECT d.destination AS destination, a.duration_ms AS ms, (a.error IS NULL)::int AS ok,
                 row_number() OVER (PARTITION BY d.destination ORDER BY a.duration_ms) AS rn,
                 count(*) OVER (PARTITION BY d.destination) AS n
          FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
          WHERE a.started_at >= ${since} AND a.started_at <= ${until}
        )
        SELECT destination, sum(ok)::int AS sent, (max(n) - sum(ok))::int AS failed,
               max(CASE WHEN rn = (50 * n + 99) / 100 THEN ms END) AS p50,
               max(CASE WHEN rn = (95 * n + 99) / 100 THEN ms END) AS p95,
               max(CASE WHEN rn = (99 * n + 99) / 100 THEN ms END) AS p99
        FROM w GROUP BY destination`;
      return new Map(rows.map((r) => [r.destination, { sent: r.sent, failed: r.failed, p50: r.p50, p95: r.p95, p99: r.p99 }]));
    },

    async lastDeliveredAt(destination) {
      const [row] = await db
        .select({ at: max(deliveries.deliveredAt) })
        .from(deliveries)
        .where(and(eq(deliveries.destination, destination), isNotNull(deliveries.deliveredAt)));
      return row?.at ?? null;
    },
  };
}
