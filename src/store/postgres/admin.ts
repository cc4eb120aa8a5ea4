import { escapeLike } from "../admin-queries.ts";
import type { AdminStore, DeliveryDetail, DestinationCounts, DestinationWindow } from "../types.ts";
import type { Fragment, Sql } from "./connect.ts";
import { eventDetail, type RawAttempt, type RawDelivery, type RawEvent, toAttempt, toDelivery } from "../rows.ts";

// The admin API's reads and repairs on PostgreSQL; the same answers as ../admin-queries.ts.

const LIST_COLUMNS = [
  "id", "event_id", "digest_id", "route", "destination", "event_type", "status", "attempts", "next_attempt_at", "lease_until",
  "last_error", "created_at", "delivered_at",
] as const;

export function pgAdmin(sql: Sql, owner: string): AdminStore {
  const deliveryCounts = async (ids: string[]) => {
    const counts = new Map<string, Record<string, number>>(ids.map((id) => [id, {}]));
    if (ids.length === 0) return counts;
    const rows = await sql<{ event_id: string; status: string; n: number }[]>`
      SELECT event_id, status, count(*) AS n FROM deliveries WHERE event_id = ANY(${ids}::text[]) GROUP BY event_id, status`;
    for (const r of rows) counts.get(r.event_id)![r.status] = r.n;
    return counts;
  };

  const getDelivery = async (id: string): Promise<DeliveryDetail | null> => {
    const [raw] = await sql<RawDelivery[]>`SELECT * FROM deliveries WHERE id = ${id}`;
    if (!raw) return null;
    const history = await sql<RawAttempt[]>`SELECT * FROM attempts WHERE delivery_id = ${id} ORDER BY id`;
    return { ...toDelivery(raw), body: raw.body, history: history.map(toAttempt) };
  };

  return {
    async listEvents(q) {
      const where = [
        q.source === undefined ? null : sql`source = ${q.source}`,
        q.type === undefined ? null : sql`type = ${q.type}`,
        q.sinceId === undefined ? null : sql`id >= ${q.sinceId}`,
        q.untilId === undefined ? null : sql`id < ${q.untilId}`,
        q.cursor === undefined ? null : sql`id < ${q.cursor}`,
        // Case-insensitive as SQLite's LIKE (which folds ASCII only; ILIKE folds every letter).
        q.text === undefined ? null : sql`body ILIKE ${`%${escapeLike(q.text)}%`} ESCAPE '\\'`,
        q.status === undefined ? null : sql`id IN (SELECT event_id FROM deliveries WHERE status = ${q.status} AND event_id IS NOT NULL)`,
      ].filter((c): c is Fragment => c !== null);
      const rows = await sql<{ id: string; source: string; type: string; received_at: number }[]>`
        SELECT id, source, type, received_at FROM events ${whereOf(sql, where)} ORDER BY id DESC LIMIT ${q.limit + 1}`;
      const page = rows.slice(0, q.limit);
      const counts = await deliveryCounts(page.map((r) => r.id));
      return {
        items: page.map((r) => ({ id: r.id, source: r.source, type: r.type, receivedAt: r.received_at, deliveries: counts.get(r.id)! })),
        nextCursor: rows.length > q.limit ? page[page.length - 1].id : null,
      };
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
      const where = [
        q.status === undefined ? null : sql`status = ${q.status}`,
        q.destination === undefined ? null : sql`destination = ${q.destination}`,
        q.cursor === undefined ? null : sql`id < ${q.cursor}`,
      ].filter((c): c is Fragment => c !== null);
      const rows = await sql<Omit<RawDelivery, "body">[]>`
        SELECT ${sql(LIST_COLUMNS)} FROM deliveries ${whereOf(sql, where)} ORDER BY id DESC LIMIT ${q.limit + 1}`;
      const page = rows.slice(0, q.limit).map(toDelivery);
      return { items: page, nextCursor: rows.length > q.limit ? page[page.length - 1].id : null };
    },

    getDelivery,

    async retryDelivery(id, now) {
      const [row] = await sql<{ status: string; body: string }[]>`SELECT status, body FROM deliveries WHERE id = ${id}`;
      if (!row) return "not_found";
      if (row.status !== "dead") return "not_dead";
      if (row.body === "") return "no_body";
      const r = await sql`
        UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ${now}, lease_until = NULL, lease_owner = NULL,
          last_error = NULL
        WHERE id = ${id} AND status = 'dead' AND body <> ''`;
      return r.count === 1 ? "retried" : "not_dead";
    },

    async retryDead(destination, now) {
      const r = await sql`
        UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ${now}, lease_until = NULL, lease_owner = NULL,
          last_error = NULL
        WHERE status = 'dead' AND destination = ${destination} AND body <> ''`;
      return r.count;
    },

    async insertTestDelivery(d) {
      await sql`
        INSERT INTO deliveries (id, event_id, route, destination, event_type, status, body, attempts, next_attempt_at, lease_until,
          lease_owner, created_at)
        VALUES (${d.id}, NULL, 'test-send', ${d.destination}, ${d.eventType}, 'in_flight', ${d.body}, 0, ${d.now}, ${d.leaseUntil},
          ${owner}, ${d.now})`;
    },

    async storedDestinations() {
      const rows = await sql<{ name: string }[]>`SELECT DISTINCT destination AS name FROM deliveries ORDER BY destination`;
      return rows.map((r) => r.name);
    },

    async openCounts() {
      const out = new Map<string, DestinationCounts>();
      const rows = await sql<{ destination: string; status: string; n: number }[]>`
        SELECT destination, status, count(*) AS n FROM deliveries
        WHERE status IN ('pending', 'in_flight', 'dead', 'held_for_digest') GROUP BY destination, status`;
      for (const r of rows) {
        const c = out.get(r.destination) ?? { pending: 0, inFlight: 0, dead: 0, held: 0 };
        if (r.status === "pending") c.pending = r.n;
        else if (r.status === "in_flight") c.inFlight = r.n;
        else if (r.status === "dead") c.dead = r.n;
        else c.held = r.n;
        out.set(r.destination, c);
      }
      return out;
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
      const [row] = await sql<{ at: number | null }[]>`
        SELECT max(delivered_at) AS at FROM deliveries WHERE destination = ${destination} AND delivered_at IS NOT NULL`;
      return row?.at ?? null;
    },
  };
}

function whereOf(sql: Sql, clauses: Fragment[]) {
  if (clauses.length === 0) return sql``;
  return clauses.slice(1).reduce((acc, c) => sql`${acc} AND ${c}`, sql`WHERE ${clauses[0]}`);
}
