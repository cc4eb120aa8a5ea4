import { and, asc, count, eq, lte, min, sql as raw } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import type { CloseWindowResult, DigestPart, DigestStore } from "../types.ts";
import type { Query, Sql } from "./connect.ts";
import { deliveries, digests as digestParts } from "./schema.ts";
import { digestChunks, type RawDigest, toPart, toRecord } from "../rows.ts";

/**
 * Digest windows on PostgreSQL, as ../digests.ts. Every instance's cron may fire at the same instant: closes of one
 * destination queue on an advisory lock, so the first closes the window and the others find it closed (the unique
 * index on (destination, window_end, part) stands behind that).
 */
export function pgDigests(sql: Sql, schema: string): DigestStore {
  const db = drizzle(sql);
  const held = (destination: string) => and(eq(deliveries.status, "held_for_digest"), eq(deliveries.destination, destination));
  const selectWindow = (q: Query, destination: string, end: number) => q<RawDigest[]>`
    SELECT g.*, d.status, d.attempts, d.last_error FROM digests g LEFT JOIN deliveries d ON d.id = g.delivery_id
    WHERE g.destination = ${destination} AND g.window_end = ${end} ORDER BY g.part`;
  const lastEnd = async (q: Query, destination: string) => {
    const [row] = await q<{ end: number | null }[]>`SELECT max(window_end) AS "end" FROM digests WHERE destination = ${destination}`;
    return row?.end ?? null;
  };

  return {
    async closeWindow(input): Promise<CloseWindowResult> {
      const { destination, windowEnd: end } = input;
      return sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtext(${`${schema}:digest:${destination}`}))`;
        const already = (await selectWindow(tx, destination, end)).map(toPart);
        if (already.length > 0) return { created: false, digests: already, items: 0 };
        const last = await lastEnd(tx, destination);
        if (last !== null && last > end) return { created: false, digests: [], items: 0 };

        const held: Array<{ id: string; body: string }> = await tx<{ id: string; body: string }[]>`
          SELECT id, body FROM deliveries WHERE status = 'held_for_digest' AND destination = ${destination}
          AND created_at <= ${end} ORDER BY created_at, id`;
        const chunks = digestChunks(held, input.maxItems);
        const parts = chunks.length;
        const send = held.length > 0 || input.sendEmpty;

        const digests: DigestPart[] = [];
        for (const [i, chunk] of chunks.entries()) {
          const part = i + 1;
          const id = input.newId("dig");
          const deliveryId = send ? input.newId("dlv") : null;
          await tx`
            INSERT INTO digests (id, destination, window_start, window_end, part, parts, item_count, delivery_id, created_at)
            VALUES (${id}, ${destination}, ${input.windowStart}, ${end}, ${part}, ${parts}, ${chunk.length}, ${deliveryId}, ${input.now})`;
          if (deliveryId) {
            const body = input.buildBody(chunk.map((item) => item.body), part, parts);
            await tx`
              INSERT INTO deliveries (id, event_id, digest_id, route, destination, event_type, status, body, attempts, next_attempt_at, created_at)
              VALUES (${deliveryId}, NULL, ${id}, 'digest', ${destination}, 'digest', 'pending', ${body}, 0, ${input.now}, ${input.now})`;
          }
          if (chunk.length > 0) {
            const marked = await tx`
              UPDATE deliveries SET status = 'digested', digest_id = ${id}
              WHERE id = ANY(${chunk.map((item) => item.id)}::text[]) AND status = 'held_for_digest'`;
            if (marked.count !== chunk.length) throw new Error(`items of ${destination}@${end} were taken by another digest`);
          }
          digests.push({ id, deliveryId, part, parts, items: chunk.length });
        }
        return { created: true, digests, items: held.length };
      });
    },

    lastClosedWindowEnd: (destination) => lastEnd(sql, destination),

    async oldestHeldAt(destination) {
      const [row] = await db.select({ at: min(deliveries.createdAt) }).from(deliveries).where(held(destination));
      return row?.at ?? null;
    },

    async heldCount(destination, upTo) {
      const [row] = await db.select({ n: count() }).from(deliveries).where(and(held(destination), lte(deliveries.createdAt, upTo)));
      return row?.n ?? 0;
    },

    async heldBodies(destination, upTo) {
      const rows = await db
        .select({ body: deliveries.body })
        .from(deliveries)
        .where(and(held(destination), lte(deliveries.createdAt, upTo)))
        .orderBy(asc(deliveries.createdAt), asc(deliveries.id));
      return rows.map((r) => r.body);
    },

    async digest(id) {
      const [row] = await sql<RawDigest[]>`
        SELECT g.*, d.status, d.attempts, d.last_error FROM digests g LEFT JOIN deliveries d ON d.id = g.delivery_id WHERE g.id = ${id}`;
      return row ? toRecord(row) : null;
    },

    async window(destination, windowEnd) {
      return (await selectWindow(sql, destination, windowEnd)).map(toRecord);
    },

    async recent(destination, limit) {
      const rows = await sql<RawDigest[]>`
        SELECT g.*, d.status, d.attempts, d.last_error FROM digests g LEFT JOIN deliveries d ON d.id = g.delivery_id
        WHERE g.destination = ${destination} ORDER BY g.window_end DESC, g.part DESC LIMIT ${limit}`;
      return rows.map(toRecord);
    },

    async digestItems(digestId) {
      return db
        .select({ id: deliveries.id, eventId: deliveries.eventId, route: deliveries.route, body: deliveries.body, createdAt: deliveries.createdAt })
        .from(deliveries)
        .where(and(eq(deliveries.digestId, digestId), eq(deliveries.status, "digested")))
        .orderBy(asc(deliveries.createdAt), asc(deliveries.id));
    },

    async retryDigest(digestId, now) {
      const part = db.select({ id: digestParts.deliveryId }).from(digestParts).where(eq(digestParts.id, digestId));
      const done = await db
        .update(deliveries)
        .set({ status: "pending", attempts: 0, nextAttemptAt: now, leaseUntil: null, leaseOwner: null, lastError: null })
        .where(and(eq(deliveries.id, raw`(${part})`), eq(deliveries.status, "dead")))
        .returning({ id: deliveries.id });
      return done.length === 1;
    },
  };
}
