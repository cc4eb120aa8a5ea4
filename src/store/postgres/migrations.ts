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
  // The hot statements (ingest, claim, settle) as functions with generic plans: PostgreSQL would otherwise re-plan
  // each call, since an array parameter's length makes a custom plan look cheaper (a third of its time in the bench).
  // Their plans are fixed to lookups by index (no sequential or bitmap scan, no hash or merge join), so a plan made
  // while a table was small stays right once it is large, and plain index scans mark the dead entries they pass: every
  // delivery that leaves pending or in_flight leaves one behind until VACUUM, and a bitmap scan, which never marks
  // them, read tens of thousands per claim in the bench.
  // The per-destination cap is no longer counted in each claim: each instance holds a share of it (relay_slots) and
  // sends within its share, so it can claim ahead of its free slots, in batches, as on SQLite.
  `
  DROP FUNCTION relay_claim(TEXT, INTEGER, BIGINT, BIGINT, TEXT, INTEGER, TEXT[], TEXT);
  CREATE FUNCTION relay_claim(p_destination TEXT, p_limit INTEGER, p_now BIGINT, p_lease_until BIGINT, p_owner TEXT)
  RETURNS SETOF deliveries LANGUAGE plpgsql VOLATILE
  SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off AS $$
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY
      UPDATE deliveries d SET status = 'in_flight', lease_until = p_lease_until, lease_owner = p_owner
      WHERE d.id = ANY(ARRAY(
        SELECT p.id FROM deliveries p
        WHERE p.status = 'pending' AND p.destination = p_destination AND p.next_attempt_at <= p_now
        ORDER BY p.next_attempt_at LIMIT p_limit
        FOR UPDATE SKIP LOCKED))
      RETURNING d.*;
  END
  $$;

  CREATE FUNCTION relay_release_expired(p_now BIGINT) RETURNS BIGINT LANGUAGE plpgsql VOLATILE
  SET enable_seqscan = off SET enable_bitmapscan = off AS $$
  DECLARE
    released BIGINT;
  BEGIN
    UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL
    WHERE status = 'in_flight' AND lease_until < p_now;
    GET DIAGNOSTICS released = ROW_COUNT;
    RETURN released;
  END
  $$;

  CREATE TABLE destination_slots (
    destination TEXT NOT NULL,
    holder TEXT NOT NULL,
    slots INTEGER NOT NULL,
    until BIGINT NOT NULL,
    PRIMARY KEY (destination, holder)
  );
  -- Durable, unlike claims: a share lost in a crash of the database could be granted twice.
  CREATE FUNCTION relay_slots(p_destination TEXT, p_holder TEXT, p_want INTEGER, p_cap INTEGER, p_now BIGINT, p_until BIGINT)
  RETURNS INTEGER LANGUAGE plpgsql VOLATILE AS $$
  DECLARE
    others INTEGER;
    granted INTEGER;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':slots:' || p_destination));
    SELECT coalesce(sum(s.slots), 0) INTO others FROM destination_slots s
    WHERE s.destination = p_destination AND s.holder <> p_holder AND s.until >= p_now;
    granted := GREATEST(0, LEAST(p_want, p_cap - others));
    IF granted = 0 THEN
      DELETE FROM destination_slots WHERE destination = p_destination AND holder = p_holder;
    ELSE
      INSERT INTO destination_slots (destination, holder, slots, until) VALUES (p_destination, p_holder, granted, p_until)
      ON CONFLICT (destination, holder) DO UPDATE SET slots = excluded.slots, until = excluded.until;
    END IF;
    RETURN granted;
  END
  $$;

  CREATE FUNCTION relay_record(e_id TEXT[], e_source TEXT[], e_type TEXT[], e_received_at BIGINT[], e_headers TEXT[],
                               e_body TEXT[], e_key TEXT[], d_id TEXT[], d_event_id TEXT[], d_route TEXT[],
                               d_destination TEXT[], d_event_type TEXT[], d_status TEXT[], d_body TEXT[],
                               d_next_attempt_at BIGINT[], d_last_error TEXT[], d_created_at BIGINT[])
  RETURNS SETOF TEXT LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
  BEGIN
    RETURN QUERY
      WITH e AS (
        INSERT INTO events (id, source, type, received_at, headers, body, idempotency_key)
        SELECT * FROM unnest(e_id, e_source, e_type, e_received_at, e_headers, e_body, e_key)
        ON CONFLICT DO NOTHING RETURNING events.id
      ),
      d AS (
        INSERT INTO deliveries (id, event_id, route, destination, event_type, status, body, attempts, next_attempt_at,
                                last_error, created_at)
        SELECT v.id, v.event_id, v.route, v.destination, v.event_type, v.status, v.body, 0, v.next_attempt_at,
               v.last_error, v.created_at
        FROM unnest(d_id, d_event_id, d_route, d_destination, d_event_type, d_status, d_body, d_next_attempt_at,
                    d_last_error, d_created_at)
          AS v(id, event_id, route, destination, event_type, status, body, next_attempt_at, last_error, created_at)
        WHERE v.event_id IN (SELECT e.id FROM e)
      )
      SELECT e.id FROM e;
  END
  $$;

  CREATE FUNCTION relay_settle(p_owner TEXT, s_id TEXT[], s_outcome TEXT[], s_at BIGINT[], s_next BIGINT[],
                               s_error TEXT[], a_started_at BIGINT[], a_duration_ms INTEGER[], a_status_code INTEGER[],
                               a_response TEXT[], a_error TEXT[])
  RETURNS VOID LANGUAGE plpgsql VOLATILE
  SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
  SET enable_hashjoin = off SET enable_mergejoin = off AS $$
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    WITH v AS (
      SELECT * FROM unnest(s_id, s_outcome, s_at, s_next, s_error, a_started_at, a_duration_ms, a_status_code,
                           a_response, a_error)
        AS v(id, outcome, at, next, error, started_at, duration_ms, status_code, response, attempt_error)
    ),
    a AS (
      INSERT INTO attempts (delivery_id, started_at, duration_ms, status_code, response, error)
      SELECT v.id, v.started_at, v.duration_ms, v.status_code, v.response, v.attempt_error FROM v
    ),
    totals AS (
      INSERT INTO destination_totals AS t (destination, sent, failed, last_sent_at, since)
      SELECT d.destination, count(*) FILTER (WHERE v.attempt_error IS NULL), count(*) FILTER (WHERE v.attempt_error IS NOT NULL),
             max(v.started_at + v.duration_ms) FILTER (WHERE v.attempt_error IS NULL), min(v.started_at)
      FROM v JOIN deliveries d ON d.id = v.id GROUP BY d.destination ORDER BY d.destination
      ON CONFLICT (destination) DO UPDATE SET sent = t.sent + excluded.sent, failed = t.failed + excluded.failed,
        last_sent_at = GREATEST(t.last_sent_at, excluded.last_sent_at)
    )
    UPDATE deliveries d SET
      status = CASE v.outcome WHEN 'delivered' THEN 'delivered' WHEN 'retry' THEN 'pending' ELSE 'dead' END,
      attempts = d.attempts + 1,
      delivered_at = CASE WHEN v.outcome = 'delivered' THEN v.at ELSE d.delivered_at END,
      next_attempt_at = CASE WHEN v.outcome = 'retry' THEN v.next ELSE d.next_attempt_at END,
      lease_until = NULL, lease_owner = NULL, last_error = v.error
    FROM v
    WHERE d.id = v.id AND (d.status = 'in_flight' AND d.lease_owner = p_owner) IS TRUE;
  END
  $$;
  `,
];
