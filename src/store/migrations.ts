// Forward-only schema migrations, embedded so the single binary carries them.
// Each entry runs once, in order, inside a transaction; PRAGMA user_version records how many ran.
export const migrations: string[] = [
  `
  CREATE TABLE events (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    idempotency_key TEXT
  );
  CREATE UNIQUE INDEX events_idempotency ON events (source, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX events_received_at ON events (received_at);

  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT REFERENCES events (id),
    digest_id TEXT,
    route TEXT NOT NULL,
    destination TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
  );
  CREATE INDEX deliveries_due ON deliveries (status, destination, next_attempt_at);
  CREATE INDEX deliveries_event ON deliveries (event_id);
  CREATE INDEX deliveries_digest ON deliveries (digest_id);

  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    response TEXT,
    error TEXT
  );
  CREATE INDEX attempts_delivery ON attempts (delivery_id);

  CREATE TABLE digests (
    id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    part INTEGER NOT NULL DEFAULT 1,
    parts INTEGER NOT NULL DEFAULT 1,
    item_count INTEGER NOT NULL,
    delivery_id TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX digests_window ON digests (destination, window_end, part);

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    source TEXT,
    rate_limit_per_minute INTEGER,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
  );

  CREATE TABLE source_ids (
    source TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  `,
  // Admin API: event filters and pages, deliveries per destination, last delivery, attempts of the last hour.
  `
  CREATE INDEX events_source_id ON events (source, id);
  CREATE INDEX events_type_id ON events (type, id);
  CREATE INDEX deliveries_destination_id ON deliveries (destination, id);
  CREATE INDEX deliveries_delivered_at ON deliveries (destination, delivered_at) WHERE delivered_at IS NOT NULL;
  CREATE INDEX attempts_started_at ON attempts (started_at);
  `,
  // Only digest rows carry a digest_id: an index entry per delivery was paid on every ingest for nothing.
  `
  DROP INDEX deliveries_digest;
  CREATE INDEX deliveries_digest ON deliveries (digest_id) WHERE digest_id IS NOT NULL;
  `,
  // Ids begin with their receive time (src/ids.ts): retention and the admin time filters walk the primary key,
  // and ingest no longer pays an index entry per event for received_at.
  `
  DROP INDEX events_received_at;
  `,
  // A destination failing for days is disabled; when its failure began survives restarts.
  `
  CREATE TABLE destination_health (
    destination TEXT PRIMARY KEY,
    failing_since INTEGER,
    disabled_at INTEGER,
    disabled_reason TEXT
  );
  `,
  // Usage since the start, surviving restarts and retention: per destination (attempts acknowledged or failed,
  // kept by a trigger on attempts) and per source (events accepted and requests rejected, added by the HTTP side
  // in batches, so ingest pays no extra write per event). Existing history seeds the totals.
  `
  CREATE TABLE destination_totals (
    destination TEXT PRIMARY KEY,
    sent INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    last_sent_at INTEGER,
    since INTEGER NOT NULL
  );
  INSERT INTO destination_totals (destination, sent, failed, last_sent_at, since)
    SELECT d.destination, sum(a.error IS NULL), sum(a.error IS NOT NULL),
           max(CASE WHEN a.error IS NULL THEN a.started_at + a.duration_ms END), min(a.started_at)
    FROM attempts a JOIN deliveries d ON d.id = a.delivery_id GROUP BY d.destination;
  CREATE TRIGGER attempts_count AFTER INSERT ON attempts BEGIN
    INSERT INTO destination_totals (destination, sent, failed, last_sent_at, since)
      SELECT d.destination, NEW.error IS NULL, NEW.error IS NOT NULL,
             CASE WHEN NEW.error IS NULL THEN NEW.started_at + NEW.duration_ms END, NEW.started_at
      FROM deliveries d WHERE d.id = NEW.delivery_id
      ON CONFLICT (destination) DO UPDATE SET sent = sent + excluded.sent, failed = failed + excluded.failed,
        last_sent_at = coalesce(max(last_sent_at, excluded.last_sent_at), last_sent_at, excluded.last_sent_at);
  END;

  CREATE TABLE source_totals (
    source TEXT PRIMARY KEY,
    received INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    last_received_at INTEGER,
    since INTEGER NOT NULL
  );
  INSERT INTO source_totals (source, received, last_received_at, since)
    SELECT source, count(*), max(received_at), min(received_at) FROM events GROUP BY source;
  `,
  // Destination totals are added by the settle batch (one upsert per destination), no longer per attempt by a trigger.
  `DROP TRIGGER IF EXISTS attempts_count;`,
];
