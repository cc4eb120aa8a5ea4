import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { migrations } from "./migrations.ts";
import * as schema from "./schema.ts";
import type { DeliveryStatus } from "./schema.ts";

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

export type Settlement = { deliveryId: string; attempt: AttemptRecord } & (
  | { outcome: "delivered"; at: number }
  | { outcome: "retry"; nextAttemptAt: number; error: string }
  | { outcome: "dead"; error: string }
);

export interface StoreOptions {
  /** Under load (the last commit group had company) a commit waits this long for more; a lone request never waits. */
  groupWaitMs?: number;
}

export type Store = ReturnType<typeof openStore>;

/** Opens (creating and migrating) the SQLite file; the only place that speaks SQL. */
export function openStore(path: string, options: StoreOptions = {}) {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  // Every commit is synced before the sender gets its 2xx.
  sqlite.exec("PRAGMA synchronous = FULL");
  sqlite.exec("PRAGMA busy_timeout = 5000");
  migrate(sqlite);
  const db = drizzle(sqlite, { schema });

  const insertEvent = sqlite.query(
    `INSERT INTO events (id, source, type, received_at, headers, body, idempotency_key)
     VALUES ($id, $source, $type, $receivedAt, $headers, $body, $idempotencyKey) ON CONFLICT DO NOTHING`,
  );
  const findByIdempotencyKey = sqlite.query<{ id: string }, { source: string; key: string }>(
    `SELECT id FROM events WHERE source = $source AND idempotency_key = $key`,
  );
  const insertDelivery = sqlite.query(
    `INSERT INTO deliveries (id, event_id, route, destination, event_type, status, body, attempts, next_attempt_at, last_error, created_at)
     VALUES ($id, $eventId, $route, $destination, $eventType, $status, $body, 0, $nextAttemptAt, $lastError, $createdAt)`,
  );
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
  const releaseAll = sqlite.query(
    `UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE status = 'in_flight'`,
  );
  const releaseOne = sqlite.query<unknown, { id: string }>(
    `UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE id = $id AND status = 'in_flight'`,
  );
  const releaseIds = sqlite.transaction((ids: string[]) => ids.reduce((n, id) => n + releaseOne.run({ id }).changes, 0));
  const earliestDue = sqlite.query<{ at: number }, { destination: string }>(
    `SELECT next_attempt_at AS at FROM deliveries WHERE status = 'pending' AND destination = $destination
     ORDER BY next_attempt_at LIMIT 1`,
  );
  const findSourceId = sqlite.query<{ id: string }, { source: string }>(`SELECT id FROM source_ids WHERE source = $source`);
  const insertSourceId = sqlite.query(
    `INSERT INTO source_ids (source, id, created_at) VALUES ($source, $id, $createdAt) ON CONFLICT DO NOTHING`,
  );

  // Worker bookkeeping (leases, outcomes) skips the fsync: losing it to a power cut only means a resend,
  // which at-least-once allows; a process crash loses nothing either way. Ingest commits stay FULL.
  const relaxed = <T>(write: () => T): T => {
    sqlite.exec("PRAGMA synchronous = NORMAL");
    try {
      return write();
    } finally {
      sqlite.exec("PRAGMA synchronous = FULL");
    }
  };

  const commitListeners = new Set<() => void>();
  const notifyCommit = () => {
    for (const listener of commitListeners) listener();
  };

  interface PendingRecord {
    event: NewEvent;
    deliveries: NewDelivery[];
    resolve: (r: RecordResult) => void;
    reject: (e: unknown) => void;
  }
  let queue: PendingRecord[] = [];
  let flushScheduled = false;
  let lastGroupSize = 0;
  const groupWaitMs = options.groupWaitMs ?? 1;

  const insertDeliveries = (event: { id: string; type: string }, rows: NewDelivery[], createdAt: number) => {
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
  const appendDeliveries = sqlite.transaction(insertDeliveries);

  const writeOne = (event: NewEvent, newDeliveries: NewDelivery[]): RecordResult => {
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
    insertDeliveries(event, newDeliveries, event.receivedAt);
    return { eventId: event.id, duplicate: false };
  };

  const writeBatch = sqlite.transaction((batch: PendingRecord[]) => batch.map((p) => writeOne(p.event, p.deliveries)));
  // Nested transactions are savepoints: when a group fails, each record is retried alone so only the bad one fails.
  const writeOneSavepoint = sqlite.transaction(writeOne);
  const writeBatchIsolated = sqlite.transaction((batch: PendingRecord[]) =>
    batch.map((p): RecordResult | { error: unknown } => {
      try {
        return writeOneSavepoint(p.event, p.deliveries);
      } catch (error) {
        return { error };
      }
    }),
  );

  // Group commit: every request queued while the loop was busy shares one transaction and one sync.
  const flush = () => {
    flushScheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    lastGroupSize = batch.length;
    let results: Array<RecordResult | { error: unknown }>;
    try {
      results = writeBatch.immediate(batch);
    } catch {
      try {
        results = writeBatchIsolated.immediate(batch);
      } catch (error) {
        for (const p of batch) p.reject(error);
        return;
      }
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if ("error" in r) p.reject(r.error);
      else p.resolve(r);
    });
    notifyCommit();
  };

  const settleBatch = sqlite.transaction((settlements: Settlement[]) => {
    for (const s of settlements) {
      insertAttempt.run({ deliveryId: s.deliveryId, ...s.attempt });
      if (s.outcome === "delivered") markDelivered.run({ id: s.deliveryId, at: s.at });
      else if (s.outcome === "retry") markRetry.run({ id: s.deliveryId, nextAttemptAt: s.nextAttemptAt, error: s.error });
      else markDead.run({ id: s.deliveryId, error: s.error });
    }
  });

  return {
    /** Drizzle over the same connection, for reads and admin verbs. */
    db,
    sqlite,

    /** Writes the event and its outbox rows in one transaction; resolves once committed and synced. */
    record(event: NewEvent, newDeliveries: NewDelivery[]): Promise<RecordResult> {
      return new Promise((resolve, reject) => {
        queue.push({ event, deliveries: newDeliveries, resolve, reject });
        if (!flushScheduled) {
          flushScheduled = true;
          if (lastGroupSize > 1 && groupWaitMs > 0) setTimeout(flush, groupWaitMs);
          else setImmediate(flush);
        }
      });
    },

    /** New outbox rows for an event already stored (a replay), in one synced transaction. */
    addDeliveries(event: { id: string; type: string }, rows: NewDelivery[], createdAt: number): void {
      if (rows.length > 0) appendDeliveries.immediate(event, rows, createdAt);
    },

    /** Leases up to `limit` due deliveries of one destination until `now + leaseMs`. */
    claim(destination: string, limit: number, now: number, leaseMs: number): ClaimedDelivery[] {
      if (limit <= 0) return [];
      return relaxed(() => claimDue.all({ destination, now, limit, leaseUntil: now + leaseMs })).map(toClaimed);
    },

    /** Records attempts and their outcomes, all in one transaction. */
    settle(settlements: Settlement[]): void {
      if (settlements.length === 0) return;
      relaxed(() => settleBatch.immediate(settlements));
    },

    /** Leases that outlived their worker go back in line. */
    releaseExpiredLeases(now: number): number {
      return relaxed(() => releaseExpired.run({ now }).changes);
    },

    /** Claimed deliveries that were never sent go back in line at once. */
    release(ids: string[]): number {
      if (ids.length === 0) return 0;
      return relaxed(() => releaseIds(ids));
    },

    /** At start-up nothing can be in flight: one process owns the file. */
    releaseAllLeases(): number {
      return releaseAll.run().changes;
    },

    /** Earliest next_attempt_at of a pending delivery for this destination, or null. */
    nextDueAt(destination: string): number | null {
      return earliestDue.get({ destination })?.at ?? null;
    },

    /** The stored URL id of a source, created with `generate()` the first time. */
    sourceId(source: string, generate: () => string, now: number): string {
      const existing = findSourceId.get({ source });
      if (existing) return existing.id;
      insertSourceId.run({ source, id: generate(), createdAt: now });
      return findSourceId.get({ source })!.id;
    },

    onCommit(listener: () => void): () => void {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },

    /** A round trip to the database, for the health check. */
    ping(): void {
      sqlite.query("SELECT 1").get();
    },

    close(): void {
      flush();
      sqlite.close();
    },
  };
}

interface RawClaimed {
  id: string;
  event_id: string | null;
  digest_id: string | null;
  route: string;
  destination: string;
  event_type: string;
  body: string;
  attempts: number;
  created_at: number;
}

function toClaimed(r: RawClaimed): ClaimedDelivery {
  return {
    id: r.id,
    eventId: r.event_id,
    digestId: r.digest_id,
    route: r.route,
    destination: r.destination,
    eventType: r.event_type,
    body: r.body,
    attempts: r.attempts,
    createdAt: r.created_at,
  };
}

function migrate(sqlite: Database): void {
  const { user_version: applied } = sqlite.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
  if (applied > migrations.length) {
    throw new Error(
      `database schema version ${applied} is newer than this Relay (${migrations.length}); upgrade Relay or restore a backup`,
    );
  }
  for (let v = applied; v < migrations.length; v++) {
    sqlite.transaction(() => {
      sqlite.exec(migrations[v]);
      sqlite.exec(`PRAGMA user_version = ${v + 1}`);
    }).immediate();
  }
}
