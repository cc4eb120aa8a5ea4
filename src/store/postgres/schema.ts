import { isNotNull, sql } from "drizzle-orm";
import { bigint, bigserial, boolean, index, integer, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { DeliveryStatus } from "../schema.ts";

// The PostgreSQL tables as drizzle sees them; migrations.ts creates them, and test/store/schema.test.ts checks that
// the two agree. Times are epoch milliseconds in BIGINT, read back as numbers.
const ms = (name: string) => bigint(name, { mode: "number" });
/** A running total, in BIGINT: years of deliveries outgrow INTEGER. */
const total = (name: string) => bigint(name, { mode: "number" });

export const events = pgTable(
  "events",
  {
    id: text("id").primaryKey(),
    source: text("source").notNull(),
    type: text("type").notNull(),
    receivedAt: ms("received_at").notNull(),
    headers: text("headers").notNull(),
    body: text("body").notNull(),
    idempotencyKey: text("idempotency_key"),
  },
  (t) => [
    uniqueIndex("events_idempotency").on(t.source, t.idempotencyKey).where(isNotNull(t.idempotencyKey)),
    index("events_source_id").on(t.source, t.id),
    index("events_type_id").on(t.type, t.id),
  ],
);

export const deliveries = pgTable(
  "deliveries",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id").references(() => events.id),
    digestId: text("digest_id"),
    route: text("route").notNull(),
    destination: text("destination").notNull(),
    eventType: text("event_type").notNull(),
    status: text("status").$type<DeliveryStatus>().notNull(),
    body: text("body").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ms("next_attempt_at").notNull(),
    leaseUntil: ms("lease_until"),
    /** The instance holding the lease; only it settles or releases the row before the lease expires. */
    leaseOwner: text("lease_owner"),
    lastError: text("last_error"),
    createdAt: ms("created_at").notNull(),
    deliveredAt: ms("delivered_at"),
  },
  (t) => [
    index("deliveries_due").on(t.status, t.destination, t.nextAttemptAt),
    index("deliveries_event").on(t.eventId),
    index("deliveries_digest").on(t.digestId).where(isNotNull(t.digestId)),
    index("deliveries_destination_id").on(t.destination, t.id),
    index("deliveries_delivered_at").on(t.destination, t.deliveredAt).where(isNotNull(t.deliveredAt)),
    index("deliveries_in_flight").on(t.destination, t.leaseOwner).where(sql`status = 'in_flight'`),
  ],
);

export const attempts = pgTable(
  "attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deliveryId: text("delivery_id").notNull(),
    startedAt: ms("started_at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    statusCode: integer("status_code"),
    response: text("response"),
    error: text("error"),
  },
  (t) => [index("attempts_delivery").on(t.deliveryId), index("attempts_started_at").on(t.startedAt)],
);

export const digests = pgTable(
  "digests",
  {
    id: text("id").primaryKey(),
    destination: text("destination").notNull(),
    windowStart: ms("window_start").notNull(),
    windowEnd: ms("window_end").notNull(),
    part: integer("part").notNull().default(1),
    parts: integer("parts").notNull().default(1),
    itemCount: integer("item_count").notNull(),
    deliveryId: text("delivery_id"),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [uniqueIndex("digests_window").on(t.destination, t.windowEnd, t.part)],
);

export const apiKeys = pgTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  secretHash: text("secret_hash").notNull(),
  scopes: text("scopes").notNull(),
  source: text("source"),
  rateLimitPerMinute: integer("rate_limit_per_minute"),
  createdAt: ms("created_at").notNull(),
  lastUsedAt: ms("last_used_at"),
  revokedAt: ms("revoked_at"),
});

export const sourceIds = pgTable("source_ids", {
  source: text("source").primaryKey(),
  id: text("id").notNull().unique("source_ids_id_key"),
  createdAt: ms("created_at").notNull(),
});

/** One row per running instance, refreshed by its heartbeat. */
export const instances = pgTable("instances", {
  id: text("id").primaryKey(),
  version: text("version").notNull(),
  configHash: text("config_hash").notNull(),
  startedAt: ms("started_at").notNull(),
  lastSeenAt: ms("last_seen_at").notNull(),
});

/** API-key token buckets shared by every instance (units: token-milliseconds, as auth/rate-limit.ts counts them). */
export const rateBuckets = pgTable("rate_buckets", {
  keyId: text("key_id").primaryKey(),
  units: ms("units").notNull(),
  at: ms("at").notNull(),
  /** Whether the last request took a token. */
  taken: boolean("taken").notNull(),
});

/** A destination's pause and circuit as every instance sees it; the latest writer wins. */
export const destinationState = pgTable("destination_state", {
  destination: text("destination").primaryKey(),
  paused: boolean("paused").notNull(),
  circuit: text("circuit").$type<"closed" | "open">().notNull(),
  openedAt: ms("opened_at"),
  nextProbeAt: ms("next_probe_at"),
  probeDelayMs: ms("probe_delay_ms").notNull(),
  updatedAt: ms("updated_at").notNull(),
  updatedBy: text("updated_by").notNull(),
});

/** A destination's current run of failures and whether it was disabled for it. */
export const destinationHealth = pgTable("destination_health", {
  destination: text("destination").primaryKey(),
  failingSince: ms("failing_since"),
  disabledAt: ms("disabled_at"),
  disabledReason: text("disabled_reason"),
});

/** Attempts per destination since the start, added to by every settlement. */
export const destinationTotals = pgTable("destination_totals", {
  destination: text("destination").primaryKey(),
  sent: total("sent").notNull().default(0),
  failed: total("failed").notNull().default(0),
  lastSentAt: ms("last_sent_at"),
  since: ms("since").notNull(),
});

/** Each instance's share of a destination's concurrency cap, held until `until` (relay_slots). */
export const destinationSlots = pgTable(
  "destination_slots",
  {
    destination: text("destination").notNull(),
    holder: text("holder").notNull(),
    slots: integer("slots").notNull(),
    until: ms("until").notNull(),
  },
  (t) => [primaryKey({ columns: [t.destination, t.holder] })],
);

/** Requests per source since the start, added in batches by each instance's HTTP side. */
export const sourceTotals = pgTable("source_totals", {
  source: text("source").primaryKey(),
  received: total("received").notNull().default(0),
  rejected: total("rejected").notNull().default(0),
  lastReceivedAt: ms("last_received_at"),
  since: ms("since").notNull(),
});

/** Dashboard sessions every instance can read; the cookie value only as its SHA-256. */
export const sessions = pgTable(
  "sessions",
  {
    idHash: text("id_hash").primaryKey(),
    csrf: text("csrf").notNull(),
    /** The signed-in principal as JSON. */
    principal: text("principal").notNull(),
    /** The API key signed in with, so revoking it ends its sessions. */
    keyId: text("key_id"),
    expiresAt: ms("expires_at").notNull(),
    /** What the last action did, shown once on the next page, as JSON. */
    notice: text("notice"),
  },
  (t) => [index("sessions_key_id").on(t.keyId)],
);

/** Written by migrate(): one row per applied migration. */
export const relaySchema = pgTable("relay_schema", {
  version: integer("version").notNull(),
  migratedAt: ms("migrated_at").notNull(),
});
