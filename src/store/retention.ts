import type { Database } from "bun:sqlite";
import { and, asc, eq, exists, gt, inArray, lt, not, notExists, notInArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { alias } from "drizzle-orm/sqlite-core";
import { attempts, deliveries, digests, events } from "./schema.ts";

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

/** The purge's write, on the writer thread's connection (writes.ts), so batches queue up with ingest commits. */
export function retentionWrites(sqlite: Database) {
  const db = drizzle(sqlite);
  const digested = alias(deliveries, "x");
  // Done: no delivery of the event is still owed, counting one digested into a digest that was delivered as done.
  const owed = db
    .select({ one: sql`1` })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.eventId, events.id),
        notInArray(deliveries.status, ["delivered", "discarded"]),
        not(
          and(
            eq(deliveries.status, "digested"),
            exists(
              db.select({ one: sql`1` }).from(digests).innerJoin(digested, eq(digested.id, digests.deliveryId))
                .where(and(eq(digests.id, deliveries.digestId), eq(digested.status, "delivered"))),
            ),
          )!,
        ),
      ),
    );
  // Walks the primary key from the cursor: ids begin with their receive time, so every id below the cutoff's lowest
  // id (`idFloor` in src/ids.ts) was received before it, and kept (dead) events are passed over once, not rescanned.
  const scan = db
    .select({ id: events.id, done: sql<number>`${notExists(owed)}` })
    .from(events)
    .where(and(lt(events.id, sql.placeholder("cutoffId")), gt(events.id, sql.placeholder("after"))))
    .orderBy(asc(events.id))
    .limit(sql.placeholder("limit"))
    .prepare();

  const batch = sqlite.transaction((cutoffId: string, after: RetentionCursor, limit: number): PurgeBatch => {
    const rows = scan.all({ cutoffId, after, limit });
    const cursor = rows.at(-1)?.id ?? after;
    const ids = rows.filter((r) => r.done === 1).map((r) => r.id);
    if (ids.length === 0) return { scanned: rows.length, events: 0, deliveries: 0, attempts: 0, cursor };
    const ofEvents = db.select({ id: deliveries.id }).from(deliveries).where(inArray(deliveries.eventId, ids));
    const removed = {
      attempts: db.delete(attempts).where(inArray(attempts.deliveryId, ofEvents)).returning({ id: attempts.id }).all().length,
      deliveries: db.delete(deliveries).where(inArray(deliveries.eventId, ids)).returning({ id: deliveries.id }).all().length,
      events: db.delete(events).where(inArray(events.id, ids)).returning({ id: events.id }).all().length,
    };
    return { scanned: rows.length, ...removed, cursor };
  });

  return {
    /** One bounded write transaction: looks at up to `limit` events with ids below `cutoffId` (received before its time), after `cursor`, and deletes the finished ones. */
    purgeBatch(cutoffId: string, cursor: RetentionCursor, limit: number): PurgeBatch {
      return batch.immediate(cutoffId, cursor, limit);
    },
  };
}
