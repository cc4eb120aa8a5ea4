import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { adminQueries } from "./admin-queries.ts";
import { adminStats } from "./admin-stats.ts";
import { apiKeyTable } from "./api-keys.ts";
import { destinationActivity } from "./destination-activity.ts";
import { digestTable } from "./digests.ts";
import { eventLookup } from "./event-lookup.ts";
import { migrations } from "./migrations.ts";
import { outboxStats } from "./outbox-stats.ts";
import * as schema from "./schema.ts";
import { promised, type DestinationHealthRow, type InstanceRecord, type Store } from "./types.ts";
import { usageTable } from "./usage.ts";
import { inlineWriter, startWriterThread, type Writer } from "./writer.ts";
import { deliveryInserter, type NewDelivery, type NewEvent, type RecordInput, type RecordResult, type Settlement } from "./writes.ts";
import type { PurgeBatch, RetentionCursor } from "./retention.ts";

export type { AttemptRecord, ClaimedDelivery, NewDelivery, NewEvent, RecordResult, Settlement } from "./writes.ts";
export type { Store } from "./types.ts";

const BUSY_TIMEOUT_MS = 5000;
const MAX_GROUP_RECORDS = 1000;
const MAX_GROUP_BYTES = 16 * 1024 * 1024;

/** The SQLite Store, with its connection and drizzle view for what only SQLite has (tests, `relay migrate`). */
export type SqliteStore = ReturnType<typeof openStore>;

export interface StoreOptions {
  /** Starts the writer of the hot-path writes; the writer thread unless a test runs its messages on this thread. */
  writer?: (path: string, busyTimeoutMs: number) => Writer;
}

/**
 * Opens (creating and migrating) the SQLite file; the only place that speaks SQL.
 *
 * Two connections: this thread's, for reads and the occasional admin or digest write, and the writer thread's
 * (writer.ts), which makes every hot-path write — ingest commit groups, claims, settlements, lease releases — so
 * SQLite's work and its fsyncs never stall the thread that parses requests.
 */
export function openStore(path: string, options: StoreOptions = {}) {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  // This connection's own writes (replays, digest windows, admin verbs, keys) are synced inside their commit.
  sqlite.exec("PRAGMA synchronous = FULL");
  sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  migrate(sqlite);
  const db = drizzle(sqlite, { schema });
  const startWriter = options.writer ?? startWriterThread;
  const writer = path === ":memory:" ? inlineWriter(sqlite) : startWriter(path, BUSY_TIMEOUT_MS);

  const releaseAll = sqlite.query(
    `UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE status = 'in_flight'`,
  );
  const earliestDue = sqlite.query<{ at: number }, { destination: string }>(
    `SELECT next_attempt_at AS at FROM deliveries WHERE status = 'pending' AND destination = $destination
     ORDER BY next_attempt_at LIMIT 1`,
  );
  const findSourceId = sqlite.query<{ id: string }, { source: string }>(`SELECT id FROM source_ids WHERE source = $source`);
  const insertSourceId = sqlite.query(
    `INSERT INTO source_ids (source, id, created_at) VALUES ($source, $id, $createdAt) ON CONFLICT DO NOTHING`,
  );
  const appendDeliveries = sqlite.transaction(deliveryInserter(sqlite));
  const destinationHealth = sqlite.query<DestinationHealthRow, []>(
    `SELECT destination, failing_since AS failingSince, disabled_at AS disabledAt FROM destination_health`,
  );
  const enableRow = sqlite.query(`UPDATE destination_health SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL WHERE destination = $destination`);
  const reviveRefusedRows = sqlite.query(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = $now WHERE status = 'dead' AND last_error LIKE 'egress refused:%'`,
  );

  const commitListeners = new Set<() => void>();
  const notifyCommit = () => {
    for (const listener of commitListeners) listener();
  };

  interface PendingRecord extends RecordInput {
    resolve: (r: RecordResult) => void;
    reject: (e: unknown) => void;
  }
  // Group commit: one group at a time is with the writer; the requests that arrive meanwhile form the next group,
  // sent the moment that commit is answered. A lone request leaves at once; under load groups grow by themselves.
  // (Measured: a second group in flight made groups smaller and ingest slower.)
  let queue: PendingRecord[] = [];
  let flushScheduled = false;
  let committing = false;

  // A slow disk lets many requests gather during one commit: a group stops at a size that keeps one transaction
  // and one message to the writer bounded; the rest form the next group.
  const takeGroup = (): PendingRecord[] => {
    let bytes = 0;
    let n = 0;
    while (n < queue.length && n < MAX_GROUP_RECORDS && bytes < MAX_GROUP_BYTES) {
      const { event, deliveries } = queue[n++];
      bytes += event.body.length;
      for (const d of deliveries) bytes += d.body.length;
    }
    return queue.splice(0, n);
  };

  const flush = () => {
    flushScheduled = false;
    if (committing || queue.length === 0) return;
    const group = takeGroup();
    committing = true;
    writer
      .call("record", group.map(({ event, deliveries }) => ({ event, deliveries })))
      .then(
        (outcomes) => {
          outcomes.forEach((o, i) => ("error" in o ? group[i].reject(new Error(o.error)) : group[i].resolve(o)));
          notifyCommit();
        },
        (error) => {
          for (const p of group) p.reject(error);
        },
      )
      // After this group's answers are on their way: the requests they release join the next group.
      .finally(() => {
        committing = false;
        flush();
      });
  };

  const depth = outboxStats({ sqlite });

  let self: InstanceRecord | null = null;
  const store = {
    backend: "sqlite" as const,
    instanceId: "local",
    shared: false,
    /** Drizzle over this thread's connection, for reads and admin verbs. */
    db,
    sqlite,
    admin: promised({ ...adminQueries({ sqlite }), ...adminStats({ sqlite }), ...destinationActivity({ sqlite }), ...eventLookup({ sqlite }) }),
    keys: {
      ...promised(apiKeyTable(db)),
      // Key usage is written by the writer thread: a request never waits for the write lock to record it.
      touch: (id: string, now: number): Promise<void> => writer.call("touchApiKey", id, now),
    },
    digests: promised(digestTable({ sqlite })),
    usage: promised(usageTable({ sqlite })),

    /** Writes the event and its outbox rows in one transaction; resolves once committed and synced. */
    record(event: NewEvent, deliveries: NewDelivery[]): Promise<RecordResult> {
      return new Promise((resolve, reject) => {
        queue.push({ event, deliveries, resolve, reject });
        if (!flushScheduled && !committing) {
          flushScheduled = true;
          // The rest of this turn's requests join the group.
          setImmediate(flush);
        }
      });
    },

    /** New outbox rows for an event already stored (a replay), in one synced transaction. */
    async addDeliveries(event: { id: string; type: string }, rows: NewDelivery[], createdAt: number): Promise<void> {
      if (rows.length > 0) appendDeliveries.immediate(event, rows, createdAt);
    },

    /** Leases up to `limit` due deliveries of one destination until `now + leaseMs`. */
    claim(destination: string, limit: number, now: number, leaseMs: number) {
      return limit <= 0 ? Promise.resolve([]) : writer.call("claim", destination, limit, now, leaseMs);
    },

    /** Records attempts and their outcomes, all in one transaction. */
    settle(settlements: Settlement[]): Promise<void> {
      return settlements.length === 0 ? Promise.resolve() : writer.call("settle", settlements);
    },

    /** Leases that outlived their worker go back in line. */
    releaseExpiredLeases(now: number): Promise<number> {
      return writer.call("releaseExpiredLeases", now);
    },

    /** Claimed deliveries that were never sent go back in line at once. */
    release(ids: string[]): Promise<number> {
      return ids.length === 0 ? Promise.resolve(0) : writer.call("release", ids);
    },

    /** One bounded retention transaction (retention.ts), queued on the writer between ingest commits. */
    purgeBatch(cutoffId: string, cursor: RetentionCursor, limit: number): Promise<PurgeBatch> {
      return writer.call("purgeBatch", cutoffId, cursor, limit);
    },

    /** Deliveries the egress policy refused go back in line (the policy changed); returns how many. */
    async reviveEgressRefused(now: number): Promise<number> {
      return reviveRefusedRows.run({ now }).changes;
    },

    /** Failure runs and disabled destinations, as stored (read at start). */
    async destinationHealth(): Promise<DestinationHealthRow[]> {
      return destinationHealth.all();
    },

    /** When a destination's run of failures began, or null; written by the writer thread. */
    setFailingSince(destination: string, since: number | null): Promise<void> {
      return writer.call("setFailingSince", destination, since);
    },

    /** Disables a destination and makes its pending deliveries dead; resolves with how many. */
    disableDestination(destination: string, at: number, reason: string): Promise<number> {
      return writer.call("disableDestination", destination, at, reason);
    },

    /** Turns a disabled destination back on (an admin action or a reload; rare, on this connection). */
    async enableDestination(destination: string): Promise<void> {
      enableRow.run({ destination });
    },

    /** At start-up nothing can be in flight: one process owns the file. */
    async releaseLeasesAtStart(): Promise<number> {
      return releaseAll.run().changes;
    },

    /** Earliest next_attempt_at of a pending delivery for this destination, or null. */
    async nextDueAt(destination: string): Promise<number | null> {
      return earliestDue.get({ destination })?.at ?? null;
    },

    async outboxDepth() {
      return depth();
    },

    /** The stored URL id of a source, created with `generate()` the first time. */
    async sourceId(source: string, generate: () => string, now: number): Promise<string> {
      const existing = findSourceId.get({ source });
      if (existing) return existing.id;
      insertSourceId.run({ source, id: generate(), createdAt: now });
      return findSourceId.get({ source })!.id;
    },

    /** One process owns the file: the only instance is this one, kept in memory. */
    async heartbeat(instance: Omit<InstanceRecord, "lastSeenAt">, now: number): Promise<void> {
      self = { ...instance, lastSeenAt: now };
    },

    async instances(): Promise<InstanceRecord[]> {
      return self ? [self] : [];
    },

    onCommit(listener: () => void): () => void {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },

    /** A round trip to the writer thread (a release of nothing), for the health check. */
    async pingWriter(): Promise<void> {
      await writer.call("release", []);
    },

    /** A round trip to the database, for the health check; throws when the writer thread is gone. */
    async ping(): Promise<void> {
      const failure = writer.failure();
      if (failure) throw new Error(failure);
      sqlite.query("SELECT 1").get();
    },

    /** Sends what is queued, waits for the writer to answer everything, then closes both connections. */
    async close(): Promise<void> {
      flushScheduled = false;
      while (queue.length > 0) {
        committing = false;
        flush();
      }
      writer.close();
      // Finalizes drizzle's prepared statements too, so the file is released now rather than when they are collected.
      sqlite.close(true);
    },
  };
  return store satisfies Store;
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
