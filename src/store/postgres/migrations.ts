// PostgreSQL DDL, one entry per schema version (the same tables as ../migrations.ts, plus what several instances
// share). Append only: an instance refuses a database whose version is higher than this list is long.
export const pgMigrations: string[] = [
  `
  CREATE TABLE events (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    idempotency_key TEXT
  );
  CREATE UNIQUE INDEX events_idempotency ON events (source, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX events_source_id ON events (source, id);
  CREATE INDEX events_type_id ON events (type, id);

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
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    lease_owner TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
  );
  CREATE INDEX deliveries_due ON deliveries (status, destination, next_attempt_at);
  CREATE INDEX deliveries_event ON deliveries (event_id);
  CREATE INDEX deliveries_digest ON deliveries (digest_id) WHERE digest_id IS NOT NULL;
  CREATE INDEX deliveries_destination_id ON deliveries (destination, id);
  CREATE INDEX deliveries_delivered_at ON deliveries (destination, delivered_at) WHERE delivered_at IS NOT NULL;
  CREATE INDEX deliveries_in_flight ON deliveries (destination, lease_owner) WHERE status = 'in_flight';

  CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    response TEXT,
    error TEXT
  );
  CREATE INDEX attempts_delivery ON attempts (delivery_id);
  CREATE INDEX attempts_started_at ON attempts (started_at);

  CREATE TABLE digests (
    id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    part INTEGER NOT NULL DEFAULT 1,
    parts INTEGER NOT NULL DEFAULT 1,
    item_count INTEGER NOT NULL,
    delivery_id TEXT,
    created_at BIGINT NOT NULL
  );
  CREATE UNIQUE INDEX digests_window ON digests (destination, window_end, part);

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    source TEXT,
    rate_limit_per_minute INTEGER,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
  );

  CREATE TABLE source_ids (
    source TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
  );

  CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
  );

  CREATE TABLE rate_buckets (
    key_id TEXT PRIMARY KEY,
    units BIGINT NOT NULL,
    at BIGINT NOT NULL,
    taken BOOLEAN NOT NULL
  );

  CREATE TABLE destination_state (
    destination TEXT PRIMARY KEY,
    paused BOOLEAN NOT NULL,
    circuit TEXT NOT NULL,
    opened_at BIGINT,
    next_probe_at BIGINT,
    probe_delay_ms BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
  );
  `,
  // A destination failing for days is disabled; when its failure began survives restarts (SQLite migration 5).
  // Usage since the start, surviving restarts and retention (SQLite migration 6): per destination, added to by each
  // settlement in the same statement (SQLite: a trigger on attempts); per source, added by the HTTP side in batches.
  // Existing history seeds the totals.
  `
  CREATE TABLE destination_health (
    destination TEXT PRIMARY KEY,
    failing_since BIGINT,
    disabled_at BIGINT,
    disabled_reason TEXT
  );

  CREATE TABLE destination_totals (
    destination TEXT PRIMARY KEY,
    sent BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    last_sent_at BIGINT,
    since BIGINT NOT NULL
  );
  INSERT INTO destination_totals (destination, sent, failed, last_sent_at, since)
    SELECT d.destination, count(*) FILTER (WHERE a.error IS NULL), count(*) FILTER (WHERE a.error IS NOT NULL),
           max(a.started_at + a.duration_ms) FILTER (WHERE a.error IS NULL), min(a.started_at)
    FROM attempts a JOIN deliveries d ON d.id = a.delivery_id GROUP BY d.destination;

  CREATE TABLE source_totals (
    source TEXT PRIMARY KEY,
    received BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    last_received_at BIGINT,
    since BIGINT NOT NULL
  );
  INSERT INTO source_totals (source, received, last_received_at, since)
    SELECT source, count(*), max(received_at), min(received_at) FROM events GROUP BY source;
  `,
  // Dashboard sessions shared by every instance behind a load balancer; the cookie value is kept only as its hash.
  `
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    csrf TEXT NOT NULL,
    principal TEXT NOT NULL,
    key_id TEXT,
    expires_at BIGINT NOT NULL,
    notice TEXT
  );
  CREATE INDEX sessions_key_id ON sessions (key_id);
  `,
  // The capped claim in one round trip: a VOLATILE function's statements each see what committed before them, so the
  // count after the lock sees every earlier claim of the destination (the same lock-then-count as two statements).
  `
  CREATE FUNCTION relay_claim(p_destination TEXT, p_limit INTEGER, p_now BIGINT, p_lease_until BIGINT, p_owner TEXT,
                              p_cap INTEGER, p_finished TEXT[], p_lock TEXT)
  RETURNS SETOF deliveries LANGUAGE plpgsql VOLATILE AS $$
  DECLARE
    take INTEGER := p_limit;
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_cap IS NOT NULL THEN
      PERFORM pg_advisory_xact_lock(hashtext(p_lock));
      SELECT GREATEST(0, LEAST(p_limit, p_cap - count(*)))::int INTO take FROM deliveries
      WHERE status = 'in_flight' AND destination = p_destination AND id <> ALL(p_finished);
    END IF;
    IF take <= 0 THEN
      RETURN;
    END IF;
    RETURN QUERY
      WITH picked AS (
        SELECT id FROM deliveries
        WHERE status = 'pending' AND destination = p_destination AND next_attempt_at <= p_now
        ORDER BY next_attempt_at LIMIT take
        FOR UPDATE SKIP LOCKED
      )
      UPDATE deliveries d SET status = 'in_flight', lease_until = p_lease_until, lease_owner = p_owner
      WHERE d.id = ANY(ARRAY(SELECT id FROM picked))
      RETURNING d.*;
  END
  $$;
  `,
];
