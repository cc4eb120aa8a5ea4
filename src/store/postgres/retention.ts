import type { PurgeBatch } from "../retention.ts";
import type { Sql } from "./connect.ts";

/**
 * One retention batch, as ../retention.ts on SQLite. Retention runs on one instance at a time: a batch that cannot
 * take the schema's retention lock answers "nothing left" and that instance's run ends; the holder carries on.
 */
export async function pgPurgeBatch(sql: Sql, schema: string, cutoffId: string, after: string, limit: number): Promise<PurgeBatch> {
  return sql.begin(async (tx) => {
    const [{ locked }] = await tx<{ locked: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(hashtext(${`${schema}:retention`})) AS locked`;
    if (!locked) return { scanned: 0, events: 0, deliveries: 0, attempts: 0, cursor: after };
    const rows = await tx<{ id: string; done: boolean }[]>`
      SELECT e.id,
        NOT EXISTS (
          SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'delivered' AND d.status <> 'discarded'
          AND NOT (d.status = 'digested' AND EXISTS (
            SELECT 1 FROM digests g JOIN deliveries x ON x.id = g.delivery_id WHERE g.id = d.digest_id AND x.status = 'delivered'))
        ) AS done
      FROM events e
      WHERE e.id < ${cutoffId} AND e.id > ${after}
      ORDER BY e.id LIMIT ${limit}`;
    const cursor = rows.at(-1)?.id ?? after;
    const ids = rows.filter((r) => r.done).map((r) => r.id);
    if (ids.length === 0) return { scanned: rows.length, events: 0, deliveries: 0, attempts: 0, cursor };
    const attempts = await tx`
      DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY(${ids}::text[]))`;
    const deliveries = await tx`DELETE FROM deliveries WHERE event_id = ANY(${ids}::text[])`;
    const events = await tx`DELETE FROM events WHERE id = ANY(${ids}::text[])`;
    return { scanned: rows.length, events: events.count, deliveries: deliveries.count, attempts: attempts.count, cursor };
  });
}
