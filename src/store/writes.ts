// The writes on the hot paths (ingest commit groups, claims, settlements, lease releases) as plain functions over
// one connection. They run on the database writer thread (writer-thread.ts), or inline for an in-memory database.
import type { Database } from "bun:sqlite";
import { retentionWrites } from "./retention.ts";
import type { DeliveryStatus } from "./schema.ts";
import { type RawClaimed, toClaimed } from "./rows.ts";

export interface NewEvent {
  id: string;
  source: string;
  type: string;
  receivedAt: number;
  headers: Record<string, string>;
  body: string;
  idempotencyKey?: string | null;
}

export interface NewDelivery {
  id: string;
  route: string;
  destination: string;
  /** pending: send now; held_for_digest: wait for the window; dead: the transform failed. */
  status: Extract<DeliveryStatus, "pending" | "held_for_digest" | "dead">;
  body: string;
  nextAttemptAt: number;
  lastError?: string | null;
}

export interface RecordResult {
  eventId: string;
  /** True when the idempotency key was seen before: nothing new was written. */
  duplicate: boolean;
}

/** One request of a commit group, and what became of it: a result, or why this record alone failed. */
export interface RecordInput {
  event: NewEvent;
  deliveries: NewDelivery[];
}
export type RecordOutcome = RecordResult | { error: string };

export interface ClaimedDelivery {
  id: string;
  eventId: string | null;
  digestId: string | null;
  route: string;
  destination: string;
  eventType: string;
  body: string;
  /** Attempts already made before this one. */
  attempts: number;
  createdAt: number;
}

export interface AttemptRecord {
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  /** First 1 KB of the response body. */
  response: string | null;
  error: string | null;
}

export type Settlement = {
  deliveryId: string;
  /** The delivery's destination, which its totals count the attempt under. */
  destination: string;
  attempt: AttemptRecord;
} & (
  | { outcome: "delivered"; at: number }
  | { outcome: "retry"; nextAttemptAt: number; error: string }
  | { outcome: "dead"; error: string }
);

export type HotWrites = ReturnType<typeof hotWrites>;

/**
 * How an ingest commit becomes durable before its ack: "after-commit" when the caller syncs the WAL file once the
 * commit returns (wal-sync.ts, the writer thread), "in-commit" when the commit itself syncs (synchronous=FULL).
 */
export type CommitDurability = "after-commit" | "in-commit";

/** Prepares the hot-path writes on a connection of their own. */
export function hotWrites(sqlite: Database, durability: CommitDurability) {
  // Worker bookkeeping (leases, outcomes) is never synced on its own: losing it to a power cut only means a resend,
  // which at-least-once allows; a process crash loses nothing either way.
  sqlite.exec("PRAGMA synchronous = NORMAL");
  const insertEvent = sqlite.query(
    `INSERT INTO events (id, source, type, received_at, headers, body, idempotency_key)
     VALUES ($id, $source, $type, $receivedAt, $headers, $body, $idempotencyKey) ON CONFLICT DO NOTHING`,
  );
  const findByIdempotencyKey = sqlite.query<{ id: string }, { source: string; key: string }>(
    `SELECT id FROM events WHERE source = $source AND idempotency_key = $key`,
  );
  const insertDeliveries = deliveryInserter(sqlite);
  const claimDue = sqlite.query<RawClaimed, { destination: string; now: number; limit: number; leaseUntil: number }>(
    `UPDATE deliveries SET status = 'in_flight', lease_until = $leaseUntil
     WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND destination = $destination
                  AND next_attempt_at <= $now ORDER BY next_attempt_at LIMIT $limit)
     RETURNING id, event_id, digest_id, route, destination, event_type, body, attempts, created_at`,
  );
  const insertAttempt = sqlite.query(
    `INSERT INTO attempts (delivery_id, started_at, duration_ms, status_code, response, error)
     VALUES ($deliveryId, $startedAt, $durationMs, $statusCode, $response, $error)`,
  );
  const markDelivered = sqlite.query(
    `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $at,
     lease_until = NULL, last_error = NULL WHERE id = $id AND status = 'in_flight'`,
  );
  const markRetry = sqlite.query(
    `UPDATE deliveries SET status = 'pending', attempts = attempts + 1, next_attempt_at = $nextAttemptAt,
     lease_until = NULL, last_error = $error WHERE id = $id AND status = 'in_flight'`,
  );
  const markDead = sqlite.query(
    `UPDATE deliveries SET status = 'dead', attempts = attempts + 1, lease_until = NULL, last_error = $error
     WHERE id = $id AND status = 'in_flight'`,
  );
  const releaseExpired = sqlite.query<unknown, { now: number }>(
    `UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE status = 'in_flight' AND lease_until < $now`,
  );
  const releaseOne = sqlite.query<unknown, { id: string }>(
    `UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE id = $id AND status = 'in_flight'`,
  );
  const releaseIds = sqlite.transaction((ids: string[]) => ids.reduce((n, id) => n + releaseOne.run({ id }).changes, 0));

  const synced = <T>(write: () => T): T => {
    if (durability === "after-commit") return write();
    sqlite.exec("PRAGMA synchronous = FULL");
    try {
      return write();
    } finally {
      sqlite.exec("PRAGMA synchronous = NORMAL");
    }
  };

  const writeOne = ({ event, deliveries }: RecordInput): RecordResult => {
    const inserted = insertEvent.run({
      id: event.id,
      source: event.source,
      type: event.type,
      receivedAt: event.receivedAt,
      headers: JSON.stringify(event.headers),
      body: event.body,
      idempotencyKey: event.idempotencyKey ?? null,
    });
    if (inserted.changes === 0) {
      const existing = event.idempotencyKey
        ? findByIdempotencyKey.get({ source: event.source, key: event.idempotencyKey })
        : null;
      if (!existing) throw new Error(`event id collision: ${event.id}`);
      return { eventId: existing.id, duplicate: true };
    }
    insertDeliveries(event, deliveries, event.receivedAt);
    return { eventId: event.id, duplicate: false };
  };

  const writeGroup = sqlite.transaction((group: RecordInput[]): RecordOutcome[] => group.map(writeOne));
  // Nested transactions are savepoints: when a group fails, each record is retried alone so only the bad one fails.
  const writeOneSavepoint = sqlite.transaction(writeOne);
  const writeGroupIsolated = sqlite.transaction((group: RecordInput[]) =>
    group.map((record): RecordOutcome => {
      try {
        return writeOneSavepoint(record);
      } catch (error) {
        return { error: messageOf(error) };
      }
    }),
  );

  const addTotals = sqlite.query(
    `INSERT INTO destination_totals (destination, sent, failed, last_sent_at, since)
     VALUES ($destination, $sent, $failed, $lastSentAt, $since)
     ON CONFLICT (destination) DO UPDATE SET sent = sent + excluded.sent, failed = failed + excluded.failed,
       last_sent_at = coalesce(max(last_sent_at, excluded.last_sent_at), last_sent_at, excluded.last_sent_at)`,
  );
  const settleGroup = sqlite.transaction((settlements: Settlement[]) => {
    // Usage totals: one upsert per destination per batch (every attempt counts, matched or not, as in PostgreSQL).
    const totals = new Map<string, { sent: number; failed: number; lastSentAt: number | null; since: number }>();
    for (const s of settlements) {
      insertAttempt.run({ deliveryId: s.deliveryId, ...s.attempt });
      if (s.outcome === "delivered") markDelivered.run({ id: s.deliveryId, at: s.at });
      else if (s.outcome === "retry") markRetry.run({ id: s.deliveryId, nextAttemptAt: s.nextAttemptAt, error: s.error });
      else markDead.run({ id: s.deliveryId, error: s.error });
      const { destination } = s;
      const a = s.attempt;
      const t = totals.get(destination) ?? { sent: 0, failed: 0, lastSentAt: null, since: a.startedAt };
      if (a.error === null) {
        t.sent++;
        t.lastSentAt = Math.max(t.lastSentAt ?? -Infinity, a.startedAt + a.durationMs);
      } else t.failed++;
      t.since = Math.min(t.since, a.startedAt);
      totals.set(destination, t);
    }
    for (const [destination, t] of totals) addTotals.run({ destination, ...t });
  });

  const setFailingSince = sqlite.query(
    `INSERT INTO destination_health (destination, failing_since) VALUES ($destination, $since)
     ON CONFLICT (destination) DO UPDATE SET failing_since = $since`,
  );
  const setDisabled = sqlite.query(
    `INSERT INTO destination_health (destination, failing_since, disabled_at, disabled_reason) VALUES ($destination, NULL, $at, $reason)
     ON CONFLICT (destination) DO UPDATE SET disabled_at = $at, disabled_reason = $reason, failing_since = NULL`,
  );
  const killPending = sqlite.query(
    `UPDATE deliveries SET status = 'dead', last_error = $reason WHERE destination = $destination AND status = 'pending'`,
  );
  const disableDestination = sqlite.transaction((destination: string, at: number, reason: string): number => {
    setDisabled.run({ destination, at, reason });
    return killPending.run({ destination, reason }).changes;
  });
  const touchKey = sqlite.query(`UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), $now) WHERE id = $id`);
  return {
    ...retentionWrites(sqlite),

    /** When a destination's current run of failures began (null: it is succeeding). */
    setFailingSince(destination: string, since: number | null): void {
      setFailingSince.run({ destination, since });
    },

    /** Disables a destination: its pending deliveries become dead (retryable by an admin); returns how many. */
    disableDestination(destination: string, at: number, reason: string): number {
      return disableDestination.immediate(destination, at, reason);
    },

    /** Records when an API key was last used (in the background: never on the thread that answers requests). */
    touchApiKey(id: string, now: number): void {
      touchKey.run({ id, now });
    },

    /** One commit group: every record in one transaction (synced as `durability` says); a failing record fails alone. */
    record(group: RecordInput[]): RecordOutcome[] {
      if (group.length === 0) return [];
      try {
        return synced(() => writeGroup.immediate(group));
      } catch {
        return synced(() => writeGroupIsolated.immediate(group));
      }
    },

    /** Leases up to `limit` due deliveries of one destination until `now + leaseMs`. */
    claim(destination: string, limit: number, now: number, leaseMs: number): ClaimedDelivery[] {
      if (limit <= 0) return [];
      return claimDue.all({ destination, now, limit, leaseUntil: now + leaseMs }).map(toClaimed);
    },

    /** Records attempts and their outcomes, all in one transaction. */
    settle(settlements: Settlement[]): void {
      if (settlements.length > 0) settleGroup.immediate(settlements);
    },

    /** Claimed deliveries that were never sent go back in line at once. */
    release(ids: string[]): number {
      return ids.length === 0 ? 0 : releaseIds(ids);
    },

    /** Leases that outlived their worker go back in line. */
    releaseExpiredLeases(now: number): number {
      return releaseExpired.run({ now }).changes;
    },
  };
}

/** Inserts an event's outbox rows: ingest's on the writer thread, a replay's on the opener's connection. */
export function deliveryInserter(sqlite: Database) {
  const insertDelivery = sqlite.query(
    `INSERT INTO deliveries (id, event_id, route, destination, event_type, status, body, attempts, next_attempt_at, last_error, created_at)
     VALUES ($id, $eventId, $route, $destination, $eventType, $status, $body, 0, $nextAttemptAt, $lastError, $createdAt)`,
  );
  return (event: { id: string; type: string }, rows: NewDelivery[], createdAt: number): void => {
    for (const d of rows) {
      insertDelivery.run({
        id: d.id,
        eventId: event.id,
        route: d.route,
        destination: d.destination,
        eventType: event.type,
        status: d.status,
        body: d.body,
        nextAttemptAt: d.nextAttemptAt,
        lastError: d.lastError ?? null,
        createdAt,
      });
    }
  };
}

/** An error's message, whatever was thrown (store/ imports nothing of ours outside it, so not errors.ts's). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
