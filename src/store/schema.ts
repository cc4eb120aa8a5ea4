import { isNotNull } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// The SQLite tables as drizzle sees them; migrations.ts creates them, and test/store/schema.test.ts checks that
// the two agree (columns, types, nullability, every index with its columns, uniqueness and condition).
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    source: text("source").notNull(),
    type: text("type").notNull(),
    receivedAt: integer("received_at").notNull(),
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

export const deliveries = sqliteTable(
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
    nextAttemptAt: integer("next_attempt_at").notNull(),
    leaseUntil: integer("lease_until"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [
    index("deliveries_due").on(t.status, t.destination, t.nextAttemptAt),
    index("deliveries_event").on(t.eventId),
    index("deliveries_digest").on(t.digestId).where(isNotNull(t.digestId)),
    index("deliveries_destination_id").on(t.destination, t.id),
    index("deliveries_delivered_at").on(t.destination, t.deliveredAt).where(isNotNull(t.deliveredAt)),
  ],
);

export const attempts = sqliteTable(
  "attempts",
  {
    id: integer("id").primaryKey(),
    deliveryId: text("delivery_id").notNull(),
    startedAt: integer("started_at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    statusCode: integer("status_code"),
    response: text("response"),
    error: text("error"),
  },
  (t) => [index("attempts_delivery").on(t.deliveryId), index("attempts_started_at").on(t.startedAt)],
);

export const digests = sqliteTable(
  "digests",
  {
    id: text("id").primaryKey(),
    destination: text("destination").notNull(),
    windowStart: integer("window_start").notNull(),
    windowEnd: integer("window_end").notNull(),
    part: integer("part").notNull().default(1),
    parts: integer("parts").notNull().default(1),
    itemCount: integer("item_count").notNull(),
    deliveryId: text("delivery_id"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("digests_window").on(t.destination, t.windowEnd, t.part)],
);

export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  secretHash: text("secret_hash").notNull(),
  scopes: text("scopes").notNull(),
  source: text("source"),
  rateLimitPerMinute: integer("rate_limit_per_minute"),
  createdAt: integer("created_at").notNull(),
  lastUsedAt: integer("last_used_at"),
  revokedAt: integer("revoked_at"),
});

export const sourceIds = sqliteTable("source_ids", {
  source: text("source").primaryKey(),
  id: text("id").notNull().unique(),
  createdAt: integer("created_at").notNull(),
});

/** A destination's current run of failures and whether it was disabled for it (migration 5). */
export const destinationHealth = sqliteTable("destination_health", {
  destination: text("destination").primaryKey(),
  failingSince: integer("failing_since"),
  disabledAt: integer("disabled_at"),
  disabledReason: text("disabled_reason"),
});

/** Attempts per destination since the start (migration 6), added by each settle batch (since migration 7). */
export const destinationTotals = sqliteTable("destination_totals", {
  destination: text("destination").primaryKey(),
  sent: integer("sent").notNull().default(0),
  failed: integer("failed").notNull().default(0),
  lastSentAt: integer("last_sent_at"),
  since: integer("since").notNull(),
});

/** Requests per source since the start, added in batches by the HTTP side (migration 6). */
export const sourceTotals = sqliteTable("source_totals", {
  source: text("source").primaryKey(),
  received: integer("received").notNull().default(0),
  rejected: integer("rejected").notNull().default(0),
  lastReceivedAt: integer("last_received_at"),
  since: integer("since").notNull(),
});

/**
 * pending: waiting for next_attempt_at · in_flight: leased by a worker · delivered: ack contract met
 * dead: out of attempts (or transform failed), kept for an admin · held_for_digest: waiting for its digest window
 * digested: an item folded into a digest delivery (digest_id says which) · discarded: dead, given up by an admin
 */
export type DeliveryStatus = "pending" | "in_flight" | "delivered" | "dead" | "held_for_digest" | "digested" | "discarded";
