// The one Store every caller outside store/ uses. Two implementations: SQLite (store.ts: writer thread, group
// commit, WAL fdatasync) and PostgreSQL (postgres/). Every method is asynchronous, so both backends fit it.
import type {
  AttemptRow,
  DeliveryDetail,
  DeliveryQuery,
  DeliveryRow,
  DestinationCounts,
  DestinationWindow,
  EventPage,
  EventQuery,
  EventSummary,
  Page,
  RetryResult,
  StoredEvent,
  TestDelivery,
} from "./admin-queries.ts";
import type { ApiKeyRow } from "./api-keys.ts";
import type { LastError } from "./destination-activity.ts";
import type { CloseWindowInput, CloseWindowResult, DigestItem, DigestPart, DigestRecord } from "./digests.ts";
import type { OutboxStatus } from "./outbox-stats.ts";
import type { PurgeBatch, RetentionCursor } from "./retention.ts";
import type { DestinationTotals, SourceCounts, SourceTotals } from "./usage.ts";
import type { ClaimedDelivery, NewDelivery, NewEvent, RecordResult, Settlement } from "./writes.ts";

export type { AttemptRecord, ClaimedDelivery, NewDelivery, NewEvent, RecordResult, Settlement } from "./writes.ts";
export type { AttemptRow, DeliveryDetail, DeliveryRow, DestinationCounts, DestinationWindow, EventSummary, Page, RetryResult, StoredEvent, TestDelivery };
export type { ApiKeyRow, CloseWindowInput, CloseWindowResult, DigestItem, DigestPart, DigestRecord, OutboxStatus, PurgeBatch, RetentionCursor };
export type { DestinationTotals, LastError, SourceCounts, SourceTotals };

export type Backend = "sqlite" | "postgres";

/** How often each instance writes its heartbeat row. */
export const HEARTBEAT_MS = 5_000;
/** An instance not seen for this long is taken for gone. */
export const LIVE_WITHIN_MS = 3 * HEARTBEAT_MS;

/** A running Relay as its heartbeat last described it. */
export interface InstanceRecord {
  id: string;
  version: string;
  /** Hash of the config it runs, to spot instances that disagree. */
  configHash: string;
  startedAt: number;
  lastSeenAt: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** A destination's pause and circuit as shared by every instance (PostgreSQL); the latest update wins. */
export interface SharedDestinationState {
  destination: string;
  paused: boolean;
  circuit: "closed" | "open";
  openedAt: number | null;
  nextProbeAt: number | null;
  probeDelayMs: number;
  updatedAt: number;
  updatedBy: string;
}

/** A destination's run of failures and whether it was disabled for it, as stored (destination_health). */
export interface DestinationHealthRow {
  destination: string;
  failingSince: number | null;
  disabledAt: number | null;
}

/** A dashboard session as stored where several instances share it (PostgreSQL). */
export interface SessionRow {
  /** SHA-256 of the cookie value: the database never holds a usable cookie. */
  idHash: string;
  csrf: string;
  principal: string;
  keyId: string | null;
  expiresAt: number;
  notice: string | null;
}

/** Dashboard sessions in the database, so any instance behind a load balancer knows them. */
export interface SessionStore {
  /** Also forgets sessions expired by `now`. */
  insert(row: SessionRow, now: number): Promise<void>;
  /** The session unless unknown or expired at `now`. */
  find(idHash: string, now: number): Promise<SessionRow | null>;
  setNotice(idHash: string, notice: string | null): Promise<void>;
  delete(idHash: string): Promise<void>;
  deleteForKey(keyId: string): Promise<void>;
}

/** Reads and repairs for the admin API and the dashboard (admin-queries.ts, admin-stats.ts, destination-activity.ts on SQLite). */
export interface AdminStore {
  /** Newest first; filters combine with AND. A text search reads one window of events per page (SEARCH_WINDOW). */
  listEvents(q: EventQuery): Promise<EventPage>;
  /** The event with every delivery (oldest first) and every attempt of each; null when unknown. */
  getEvent(id: string): Promise<{ event: StoredEvent; deliveries: DeliveryDetail[] } | null>;
  /** Newest first (ids sort by creation time). */
  listDeliveries(q: DeliveryQuery): Promise<Page<DeliveryRow>>;
  getDelivery(id: string): Promise<DeliveryDetail | null>;
  /** A dead delivery back to pending, due at `now`; a dead row without a body (failed transform) cannot be resent. */
  retryDelivery(id: string, now: number): Promise<RetryResult>;
  /** Every dead delivery of a destination that has a body back to pending; returns how many. */
  retryDead(destination: string, now: number): Promise<number>;
  /** A dead delivery given up: `discarded`, with its history kept. False when it is not dead. */
  discardDelivery(id: string): Promise<boolean>;
  /** Every dead delivery of a destination discarded; returns how many. */
  discardDead(destination: string): Promise<number>;
  /** A test-send row, leased at once so the worker leaves it to the admin call that settles it. */
  insertTestDelivery(d: TestDelivery): Promise<void>;
  /** Destinations with at least one delivery row, configured or not. */
  storedDestinations(): Promise<string[]>;
  /** Deliveries still open, per destination. */
  openCounts(): Promise<Map<string, DestinationCounts>>;
  /** Attempts started in [since, until], per destination. */
  attemptWindow(since: number, until: number): Promise<Map<string, DestinationWindow>>;
  lastDeliveredAt(destination: string): Promise<number | null>;
  /** Creation time of the pending delivery due first (the head of the line), or null when none waits. */
  oldestPending(destination: string): Promise<number | null>;
  /** The latest error of a delivery dead or waiting for a retry, with the time of its last attempt; null when none. */
  lastError(destination: string, now: number): Promise<LastError | null>;
  /** Ids of events carrying this idempotency key, one per source at most. */
  eventsByIdempotencyKey(key: string, sources: readonly string[]): Promise<string[]>;
}

/** Usage since the start, surviving restarts and retention (usage.ts on SQLite). */
export interface UsageStore {
  /** Attempts acknowledged and failed per destination (every attempt written adds to them). */
  destinations(): Promise<Map<string, DestinationTotals>>;
  sources(): Promise<Map<string, SourceTotals>>;
  /** Adds requests counted per source, in one transaction. */
  addSourceCounts(counts: Map<string, SourceCounts>): Promise<void>;
}

/** API key rows; only the secret's hash is ever stored. */
export interface KeyStore {
  /** Throws an error whose message says UNIQUE on a duplicate id. */
  insert(row: Omit<ApiKeyRow, "lastUsedAt" | "revokedAt">): Promise<void>;
  findById(id: string): Promise<ApiKeyRow | null>;
  /** Every key, revoked ones included, oldest first. */
  list(): Promise<ApiKeyRow[]>;
  /** True when the key exists (and is now revoked); a second revoke keeps the first time. */
  revoke(id: string, now: number): Promise<boolean>;
  /** Records when a key was last used; never moves it back. SQLite: by the writer thread, off the request's path. */
  touch(id: string, now: number): Promise<void>;
}

/** Digest windows over the outbox (digests.ts on SQLite). */
export interface DigestStore {
  /** Closes one window in one transaction; closing it again (or one a later window superseded) writes nothing. */
  closeWindow(input: CloseWindowInput): Promise<CloseWindowResult>;
  /** End of the latest closed window (scheduled or flushed), or null when none was ever closed. */
  lastClosedWindowEnd(destination: string): Promise<number | null>;
  /** created_at of the oldest item still waiting for a digest, or null. */
  oldestHeldAt(destination: string): Promise<number | null>;
  /** How many items wait for a digest and were created at or before `upTo`. */
  heldCount(destination: string, upTo: number): Promise<number>;
  /** Bodies of the items waiting for a digest, created at or before `upTo`, oldest first. */
  heldBodies(destination: string, upTo: number): Promise<string[]>;
  digest(id: string): Promise<DigestRecord | null>;
  /** The parts of one closed window, in part order. */
  window(destination: string, windowEnd: number): Promise<DigestRecord[]>;
  /** The newest digest parts of a destination, newest window first. */
  recent(destination: string, limit: number): Promise<DigestRecord[]>;
  /** The items folded into one digest part, in the order they appear in its body. */
  digestItems(digestId: string): Promise<DigestItem[]>;
  /** Sends a dead digest part again with a fresh retry schedule; false when it was not dead. */
  retryDigest(digestId: string, now: number): Promise<boolean>;
}

export interface Store {
  readonly backend: Backend;
  /** True when other processes claim from the same outbox (PostgreSQL): each instance sends within its share of a cap (takeSlots). */
  readonly shared: boolean;
  /** Writes the event and its outbox rows in one transaction; resolves once committed and durable. */
  record(event: NewEvent, deliveries: NewDelivery[]): Promise<RecordResult>;
  /** New outbox rows for an event already stored (a replay), in one durable transaction. */
  addDeliveries(event: { id: string; type: string }, rows: NewDelivery[], createdAt: number): Promise<void>;
  /** Leases up to `limit` due deliveries of one destination until `now + leaseMs`, the longest due first. */
  claim(destination: string, limit: number, now: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /**
   * Shared stores: sets this instance's share of a destination's concurrency cap to at most `want`, so that the shares
   * of every instance holding one until `now` or later never add up to more than `cap`; held until `until`. Resolves
   * with the share granted (0 gives it back).
   */
  takeSlots?(destination: string, want: number, cap: number, now: number, until: number): Promise<number>;
  /** Records attempts and their outcomes, all in one transaction. */
  settle(settlements: Settlement[]): Promise<void>;
  /** Claimed deliveries that were never sent go back in line at once. */
  release(ids: string[]): Promise<number>;
  /** Leases that outlived their worker go back in line. */
  releaseExpiredLeases(now: number): Promise<number>;
  /** At start: leases this process may still hold from a previous life (SQLite: all of them; PostgreSQL: its own). */
  releaseLeasesAtStart(): Promise<number>;
  /** Earliest next_attempt_at of a pending delivery for this destination, or null. */
  nextDueAt(destination: string): Promise<number | null>;
  /** One bounded retention transaction (retention.ts). */
  purgeBatch(cutoffId: string, cursor: RetentionCursor, limit: number): Promise<PurgeBatch>;
  /** The stored URL id of a source, created with `generate()` the first time. */
  sourceId(source: string, generate: () => string, now: number): Promise<string>;
  /** Row counts per outbox status, every status present (0 when empty). */
  outboxDepth(): Promise<Record<OutboxStatus, number>>;
  /** Deliveries the egress policy refused go back in line (the policy changed); returns how many. */
  reviveEgressRefused(now: number): Promise<number>;
  /** Failure runs and disabled destinations, as stored (read at start). */
  destinationHealth(): Promise<DestinationHealthRow[]>;
  /** When a destination's current run of failures began (null: it is succeeding). */
  setFailingSince(destination: string, since: number | null): Promise<void>;
  /** Disables a destination: its pending deliveries become dead (retryable by an admin); resolves with how many. */
  disableDestination(destination: string, at: number, reason: string): Promise<number>;
  /** Turns a disabled destination back on (an admin action or a reload). */
  enableDestination(destination: string): Promise<void>;
  /** The lease owner name of this process. */
  readonly instanceId: string;
  /** Records this instance as alive (and what it runs) at `now`. */
  heartbeat(instance: Omit<InstanceRecord, "lastSeenAt">, now: number): Promise<void>;
  /** Every instance that ever beat, oldest start first (SQLite: this process only). */
  instances(): Promise<InstanceRecord[]>;
  /** Only where several instances share limits (PostgreSQL): one token bucket per API key for all of them. */
  takeRateToken?(keyId: string, limitPerMinute: number, now: number): Promise<RateDecision>;
  /** Only where several instances share destinations (PostgreSQL): pause and circuit as last written by any. */
  destinationStates?(): Promise<SharedDestinationState[]>;
  saveDestinationState?(state: SharedDestinationState): Promise<void>;
  /** Only where several instances serve the dashboard (PostgreSQL): sessions any of them can find. */
  readonly sessions?: SessionStore;
  /** Called after each commit of new deliveries (on PostgreSQL also those of other instances). */
  onCommit(listener: () => void): () => void;
  /** A round trip to the database, for the health check; rejects when it cannot answer. */
  ping(): Promise<void>;
  /**
   * A round trip along the path the hot writes take, for the health check: SQLite's writer thread (slow while a
   * write waits for the lock); PostgreSQL's connection pool (slow while every connection is busy).
   */
  pingWriter(): Promise<void>;
  /** Sends what is queued, waits for every answer, then closes the connections. */
  close(): Promise<void>;
  readonly admin: AdminStore;
  readonly keys: KeyStore;
  readonly digests: DigestStore;
  readonly usage: UsageStore;
}

/** Each method of T, returning a promise of what it returned. */
export type Promised<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** A synchronous implementation as an asynchronous one: a throw becomes a rejection. */
export function promised<T extends object>(sync: T): Promised<T> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(sync)) {
    if (typeof fn !== "function") continue;
    out[name] = async (...args: unknown[]) => (fn as (...a: unknown[]) => unknown)(...args);
  }
  return out as Promised<T>;
}
