import { and, asc, count, eq, lte, min, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import type { Database } from "bun:sqlite";
import { deliveries, digests as digestParts } from "./schema.ts";
import { digestChunks, type RawDigest, toPart, toRecord } from "./rows.ts";

// Digest verbs over the outbox. Items are `held_for_digest` delivery rows; closing a window turns
// them into `digested` rows pointing at the digest (digest_id) and adds one `pending` delivery per
// part, all in one transaction, so an item lands in exactly one digest.

export interface CloseWindowInput {
  destination: string;
  /** Nominal window (start, end]; every held item created at or before `windowEnd` is taken, older ones too. */
  windowStart: number;
  windowEnd: number;
  /** Items per part; a larger window becomes parts 1..n. */
  maxItems: number;
  /** An empty window: true sends an empty digest; false records the window as closed and sends nothing. */
  sendEmpty: boolean;
  /** The body of one part, from its item bodies (JSON texts, in created_at order). */
  buildBody: (items: string[], part: number, parts: number) => string;
  now: number;
  /** New ids: "dig" for digests, "dlv" for their deliveries. */
  newId: (prefix: "dig" | "dlv") => string;
}

export interface DigestPart {
  id: string;
  /** The delivery carrying this part; null for an empty window that was not sent. */
  deliveryId: string | null;
  part: number;
  parts: number;
  items: number;
}

export interface CloseWindowResult {
  /** false: this window (or a later one) was already closed and nothing was written. */
  created: boolean;
  /** This window's parts, the existing ones when it was closed before. */
  digests: DigestPart[];
  /** Items taken by this call (0 when nothing was created). */
  items: number;
}

export interface DigestRecord extends DigestPart {
  destination: string;
  windowStart: number;
  windowEnd: number;
  createdAt: number;
  /** Status of its delivery (pending, in_flight, delivered, dead), null when nothing was sent. */
  status: string | null;
  attempts: number | null;
  lastError: string | null;
}

export interface DigestItem {
  id: string;
  eventId: string | null;
  route: string;
  body: string;
  createdAt: number;
}

export type DigestTable = ReturnType<typeof digestTable>;

export function digestTable(store: { sqlite: Database }) {
  const { sqlite } = store;
  // Reads and the retry through drizzle; closing a window stays prepared SQL inside its immediate transaction.
  const db = drizzle(sqlite);
  const held = (destination: string) => and(eq(deliveries.status, "held_for_digest"), eq(deliveries.destination, destination));

  const selectHeld = sqlite.query<{ id: string; body: string }, { destination: string; end: number }>(
    `SELECT id, body FROM deliveries WHERE status = 'held_for_digest' AND destination = $destination
     AND created_at <= $end ORDER BY created_at, id`,
  );
  const selectWindow = sqlite.query<RawDigest, { destination: string; end: number }>(
    `SELECT g.*, d.status, d.attempts, d.last_error FROM digests g LEFT JOIN deliveries d ON d.id = g.delivery_id
     WHERE g.destination = $destination AND g.window_end = $end ORDER BY g.part`,
  );
  const selectOne = sqlite.query<RawDigest, { id: string }>(
    `SELECT g.*, d.status, d.attempts, d.last_error FROM digests g LEFT JOIN deliveries d ON d.id = g.delivery_id
     WHERE g.id = $id`,
  );
  // The digests_window index read backwards: the newest windows of one destination.
  const selectRecent = sqlite.query<RawDigest, { destination: string; limit: number }>(
    `SELECT g.*, d.status, d.attempts, d.last_error FROM digests g LEFT JOIN deliveries d ON d.id = g.delivery_id
     WHERE g.destination = $destination ORDER BY g.window_end DESC, g.part DESC LIMIT $limit`,
  );
  const selectLastEnd = sqlite.query<{ end: number | null }, { destination: string }>(
    `SELECT MAX(window_end) AS "end" FROM digests WHERE destination = $destination`,
  );
  const insertDigest = sqlite.query(
    `INSERT INTO digests (id, destination, window_start, window_end, part, parts, item_count, delivery_id, created_at)
     VALUES ($id, $destination, $windowStart, $windowEnd, $part, $parts, $itemCount, $deliveryId, $createdAt)
     ON CONFLICT (destination, window_end, part) DO NOTHING`,
  );
  const insertDelivery = sqlite.query(
    `INSERT INTO deliveries (id, event_id, digest_id, route, destination, event_type, status, body, attempts, next_attempt_at, created_at)
     VALUES ($id, NULL, $digestId, 'digest', $destination, 'digest', 'pending', $body, 0, $now, $now)`,
  );
  const markDigested = sqlite.query(
    `UPDATE deliveries SET status = 'digested', digest_id = $digestId WHERE id = $id AND status = 'held_for_digest'`,
  );

  const existing = (destination: string, end: number): DigestPart[] => selectWindow.all({ destination, end }).map(toPart);

  const close = sqlite.transaction((input: CloseWindowInput): CloseWindowResult => {
    const { destination, windowEnd: end } = input;
    const already = existing(destination, end);
    if (already.length > 0) return { created: false, digests: already, items: 0 };
    const last = selectLastEnd.get({ destination })?.end ?? null;
    // A later window (e.g. a flush) already took everything up to its end.
    if (last !== null && last > end) return { created: false, digests: [], items: 0 };

    const held = selectHeld.all({ destination, end });
    const chunks = digestChunks(held, input.maxItems);
    const parts = chunks.length;
    const send = held.length > 0 || input.sendEmpty;

    const digests = chunks.map((chunk, i): DigestPart => {
      const part = i + 1;
      const id = input.newId("dig");
      const deliveryId = send ? input.newId("dlv") : null;
      const inserted = insertDigest.run({
        id,
        destination,
        windowStart: input.windowStart,
        windowEnd: end,
        part,
        parts,
        itemCount: chunk.length,
        deliveryId,
        createdAt: input.now,
      });
      // Unreachable under the write lock; thrown so the whole close rolls back if it ever happens.
      if (inserted.changes !== 1) throw new Error(`digest ${destination}@${end} part ${part} already exists`);
      if (deliveryId) {
        const body = input.buildBody(
          chunk.map((item) => item.body),
          part,
          parts,
        );
        insertDelivery.run({ id: deliveryId, digestId: id, destination, body, now: input.now });
      }
      for (const item of chunk) {
        if (markDigested.run({ id: item.id, digestId: id }).changes !== 1) {
          throw new Error(`item ${item.id} was taken by another digest`);
        }
      }
      return { id, deliveryId, part, parts, items: chunk.length };
    });
    return { created: true, digests, items: held.length };
  });

  return {
    /**
     * Closes one window of a destination in one immediate transaction: takes every held item created
     * at or before `windowEnd`, writes the digest part(s) and their pending deliveries, marks the
     * items digested. Closing the same window again (or one a later window superseded) writes nothing.
     */
    closeWindow(input: CloseWindowInput): CloseWindowResult {
      return close.immediate(input);
    },

    /** End of the latest closed window (scheduled or flushed), or null when none was ever closed. */
    lastClosedWindowEnd(destination: string): number | null {
      return selectLastEnd.get({ destination })?.end ?? null;
    },

    /** created_at of the oldest item still waiting for a digest, or null. */
    oldestHeldAt(destination: string): number | null {
      return db.select({ at: min(deliveries.createdAt) }).from(deliveries).where(held(destination)).get()?.at ?? null;
    },

    /** Bodies of the items waiting for a digest, created at or before `upTo`, oldest first. */
    heldBodies(destination: string, upTo: number): string[] {
      return selectHeld.all({ destination, end: upTo }).map((row) => row.body);
    },

    /** How many items wait for a digest and were created at or before `upTo`. */
    heldCount(destination: string, upTo: number): number {
      return db.select({ n: count() }).from(deliveries).where(and(held(destination), lte(deliveries.createdAt, upTo))).get()?.n ?? 0;
    },

    /** One digest part with its delivery's state, or null. */
    digest(id: string): DigestRecord | null {
      const row = selectOne.get({ id });
      return row ? toRecord(row) : null;
    },

    /** The parts of one closed window, in part order. */
    window(destination: string, windowEnd: number): DigestRecord[] {
      return selectWindow.all({ destination, end: windowEnd }).map(toRecord);
    },

    /** The newest digest parts of a destination, newest window first. */
    recent(destination: string, limit: number): DigestRecord[] {
      return selectRecent.all({ destination, limit }).map(toRecord);
    },

    /** The items folded into one digest part, in the order they appear in its body. */
    digestItems(digestId: string): DigestItem[] {
      return db
        .select({ id: deliveries.id, eventId: deliveries.eventId, route: deliveries.route, body: deliveries.body, createdAt: deliveries.createdAt })
        .from(deliveries)
        .where(and(eq(deliveries.digestId, digestId), eq(deliveries.status, "digested")))
        .orderBy(asc(deliveries.createdAt), asc(deliveries.id))
        .all();
    },

    /**
     * Sends a dead digest part again, byte for byte, with a fresh retry schedule (attempts reset;
     * the attempts table keeps the history). Its items stay attached. False when it was not dead.
     */
    retryDigest(digestId: string, now: number): boolean {
      const part = db.select({ id: digestParts.deliveryId }).from(digestParts).where(eq(digestParts.id, digestId));
      const reset = db
        .update(deliveries)
        .set({ status: "pending", attempts: 0, nextAttemptAt: now, leaseUntil: null, lastError: null })
        .where(and(eq(deliveries.id, sql`(${part})`), eq(deliveries.status, "dead")));
      return reset.returning({ id: deliveries.id }).all().length === 1;
    },
  };
}
