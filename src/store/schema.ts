import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// Typed view of the tables created by migrations.ts (the SQL there is the source of truth for DDL).
export const events = sqliteTable("events", {
  id: text("id").primaryKey(),
  source: text("source").notNull(),
  type: text("type").notNull(),
  receivedAt: integer("received_at").notNull(),
  headers: text("headers").notNull(),
  body: text("body").notNull(),
  idempotencyKey: text("idempotency_key"),
});

export const deliveries = sqliteTable(
  "deliveries",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id"),
    digestId: text("digest_id"),
    route: text("route").notNull(),
    destination: text("destination").notNull(),
    eventType: text("event_type").notNull(),
    status: text("status").$type<DeliveryStatus>().notNull(),
    body: text("body").notNull(),
    attempts: integer("attempts").notNull(),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    leaseUntil: integer("lease_until"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [index("deliveries_due").on(t.status, t.destination, t.nextAttemptAt)],
);

export const attempts = sqliteTable("attempts", {
  id: integer("id").primaryKey(),
  deliveryId: text("delivery_id").notNull(),
  startedAt: integer("started_at").notNull(),
  durationMs: integer("duration_ms").notNull(),
  statusCode: integer("status_code"),
  response: text("response"),
  error: text("error"),
});

export const digests = sqliteTable("digests", {
  id: text("id").primaryKey(),
  destination: text("destination").notNull(),
  windowStart: integer("window_start").notNull(),
  windowEnd: integer("window_end").notNull(),
  part: integer("part").notNull(),
  parts: integer("parts").notNull(),
  itemCount: integer("item_count").notNull(),
  deliveryId: text("delivery_id"),
  createdAt: integer("created_at").notNull(),
});

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
  id: text("id").notNull(),
  createdAt: integer("created_at").notNull(),
});

/**
 * pending: waiting for next_attempt_at · in_flight: leased by a worker · delivered: ack contract met
 * dead: out of attempts (or transform failed), kept for an admin · held_for_digest: waiting for its digest window
 * digested: an item folded into a digest delivery (digest_id says which)
 */
export type DeliveryStatus = "pending" | "in_flight" | "delivered" | "dead" | "held_for_digest" | "digested" | "discarded";
