import type { Database } from "bun:sqlite";

// Retention verbs: old events whose every delivery is done go, with their deliveries and attempts.
// "Done" is delivered, or digested into a digest whose own delivery was delivered; anything dead,
// pending or held keeps its event. Digest deliveries and the digests table are left alone.

/** The id of the last event looked at; ids sort by receive time, so this is a position in time order. */
export type RetentionCursor = string;

export interface PurgeBatch {
  /** Old events looked at; fewer than the limit means none are left after this batch. */
  scanned: number;
  events: number;
  deliveries: number;
  attempts: number;
  cursor: RetentionCursor;
}

export const RETENTION_START: RetentionCursor = "";

/** The purge's write, prepared on the writer thread's connection (writes.ts), so batches queue up with ingest commits. */
export function retentionWrites(sqlite: Database) {
  // Walks the primary key from the cursor: ids begin with their receive time, so every id below the cutoff's lowest
  // id (`idFloor` in src/ids.ts) was received before it, and kept (dead) events are passed over once, not rescanned.
  const scan = sqlite.query<{ id: string; done: number }, { cutoffId: string; after: string; limit: number }>(
    `SELECT e.id,
       NOT EXISTS (
         SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'delivered' AND d.status <> 'discarded'
         AND NOT (d.status = 'digested' AND EXISTS (
           SELECT 1 FROM digests g JOIN deliveries x ON x.id = g.delivery_id WHERE g.id = d.digest_id AND x.status = 'delivered'))
       ) AS done
     FROM events e
     WHERE e.id < $cutoffId AND e.id > $after
     ORDER BY e.id LIMIT $limit`,
  );
  const deleteAttempts = sqlite.query<unknown, { ids: string }>(
    `DELETE FROM attempts WHERE delivery_id IN
       (SELECT id FROM deliveries WHERE event_id IN (SELECT value FROM json_each($ids)))`,
  );
  const deleteDeliveries = sqlite.query<unknown, { ids: string }>(
    `DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each($ids))`,
  );
  const deleteEvents = sqlite.query<unknown, { ids: string }>(`DELETE FROM events WHERE id IN (SELECT value FROM json_each($ids))`);

  const batch = sqlite.transaction((cutoffId: string, after: RetentionCursor, limit: number): PurgeBatch => {
    const rows = scan.all({ cutoffId, after, limit });
    const cursor = rows.at(-1)?.id ?? after;
    const ids = JSON.stringify(rows.filter((r) => r.done === 1).map((r) => r.id));
    if (ids === "[]") return { scanned: rows.length, events: 0, deliveries: 0, attempts: 0, cursor };
    const attempts = deleteAttempts.run({ ids }).changes;
    const deliveries = deleteDeliveries.run({ ids }).changes;
    const events = deleteEvents.run({ ids }).changes;
    return { scanned: rows.length, events, deliveries, attempts, cursor };
  });

  return {
    /** One bounded write transaction: looks at up to `limit` events with ids below `cutoffId` (received before its time), after `cursor`, and deletes the finished ones. */
    purgeBatch(cutoffId: string, cursor: RetentionCursor, limit: number): PurgeBatch {
      return batch.immediate(cutoffId, cursor, limit);
    },
  };
}
