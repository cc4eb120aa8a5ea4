import type { CloseWindowResult, DigestPart, DigestStore } from "../types.ts";
import type { Query, Sql } from "./connect.ts";
import { digestChunks, type RawDigest, toPart, toRecord } from "../rows.ts";

/**
 * Digest windows on PostgreSQL, as ../digests.ts. Every instance's cron may fire at the same instant: closes of one
 * destination queue on an advisory lock, so the first closes the window and the others find it closed (the unique
 * index on (destination, window_end, part) stands behind that).
 */
export function pgDigests(sql: Sql, schema: string): DigestStore {
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
      const [row] = await sql<{ at: number | null }[]>`
        SELECT min(created_at) AS at FROM deliveries WHERE status = 'held_for_digest' AND destination = ${destination}`;
      return row?.at ?? null;
    },

    async heldCount(destination, upTo) {
      const [row] = await sql<{ n: number }[]>`
        SELECT count(*) AS n FROM deliveries WHERE status = 'held_for_digest' AND destination = ${destination} AND created_at <= ${upTo}`;
      return row?.n ?? 0;
    },

    async digest(id) {
      const [row] = await sql<RawDigest[]>`
        SELECT g.*, d.status, d.attempts, d.last_error FROM digests g LEFT JOIN deliveries d ON d.id = g.delivery_id WHERE g.id = ${id}`;
      return row ? toRecord(row) : null;
    },

    async window(destination, windowEnd) {
      return (await selectWindow(sql, destination, windowEnd)).map(toRecord);
    },

    async digestItems(digestId) {
      const rows = await sql<{ id: string; event_id: string | null; route: string; body: string; created_at: number }[]>`
        SELECT id, event_id, route, body, created_at FROM deliveries WHERE digest_id = ${digestId} AND status = 'digested'
        ORDER BY created_at, id`;
      return rows.map((r) => ({ id: r.id, eventId: r.event_id, route: r.route, body: r.body, createdAt: r.created_at }));
    },

    async retryDigest(digestId, now) {
      const r = await sql`
        UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ${now}, lease_until = NULL, lease_owner = NULL,
          last_error = NULL
        WHERE id = (SELECT delivery_id FROM digests WHERE id = ${digestId}) AND status = 'dead'`;
      return r.count === 1;
    },
  };
}
