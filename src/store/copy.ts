import type { Database } from "bun:sqlite";
import type { Sql } from "./postgres/connect.ts";

// Copies a SQLite store into PostgreSQL (`relay migrate`): table by table in primary-key order, in batches, each
// batch one transaction with ON CONFLICT DO NOTHING, so an interrupted copy resumes where it stopped.

interface TableCopy {
  table: string;
  key: string;
  /** The key is a number (else text, compared byte by byte on both sides). */
  numeric?: boolean;
  columns: string[];
  /** Turns a SQLite row into the PostgreSQL row (defaults: unchanged). */
  map?: (row: Record<string, unknown>) => Record<string, unknown>;
}

const TABLES: TableCopy[] = [
  { table: "events", key: "id", columns: ["id", "source", "type", "received_at", "headers", "body", "idempotency_key"] },
  {
    table: "deliveries",
    key: "id",
    columns: ["id", "event_id", "digest_id", "route", "destination", "event_type", "status", "body", "attempts", "next_attempt_at",
      "lease_until", "last_error", "created_at", "delivered_at"],
    // Nothing runs during a copy: a lease left by the stopped SQLite Relay goes back in line.
    map: (r) => (r.status === "in_flight" ? { ...r, status: "pending", lease_until: null } : r),
  },
  { table: "attempts", key: "id", numeric: true, columns: ["id", "delivery_id", "started_at", "duration_ms", "status_code", "response", "error"] },
  { table: "digests", key: "id", columns: ["id", "destination", "window_start", "window_end", "part", "parts", "item_count", "delivery_id", "created_at"] },
  { table: "api_keys", key: "id", columns: ["id", "name", "secret_hash", "scopes", "source", "rate_limit_per_minute", "created_at", "last_used_at", "revoked_at"] },
  { table: "source_ids", key: "source", columns: ["source", "id", "created_at"] },
  { table: "destination_health", key: "destination", columns: ["destination", "failing_since", "disabled_at", "disabled_reason"] },
  // The totals as SQLite counted them: copying attempts adds nothing to PostgreSQL's (only a settlement does).
  { table: "destination_totals", key: "destination", columns: ["destination", "sent", "failed", "last_sent_at", "since"] },
  { table: "source_totals", key: "source", columns: ["source", "received", "rejected", "last_received_at", "since"] },
];

export interface TableCount {
  table: string;
  source: number;
  target: number;
  /** Rows written by this run (0 when everything was there already). */
  copied: number;
}

/** Copies every table, then counts both sides; `progress` hears each batch. */
export async function copySqliteToPostgres(
  sqlite: Database,
  sql: Sql,
  opts: { batch?: number; progress?: (table: string, copied: number) => void } = {},
): Promise<TableCount[]> {
  const batch = opts.batch ?? 1000;
  const counts: TableCount[] = [];
  for (const t of TABLES) {
    // Resume after the last key already in PostgreSQL: rows are copied in key order, each batch whole or not at all.
    // Text keys in byte order ("C"), as SQLite sorts them, whatever the database's collation.
    const last = t.numeric
      ? (await sql<{ last: number | null }[]>`SELECT max(${sql(t.key)}) AS last FROM ${sql(t.table)}`)[0].last
      : (await sql<{ last: string | null }[]>`SELECT max(${sql(t.key)} COLLATE "C") AS last FROM ${sql(t.table)}`)[0].last;
    let after: string | number | null = last;
    let copied = 0;
    const select = sqlite.query<Record<string, unknown>, { after: string | number | null; limit: number }>(
      `SELECT ${t.columns.join(", ")} FROM ${t.table} WHERE $after IS NULL OR ${t.key} > $after ORDER BY ${t.key} LIMIT $limit`,
    );
    for (;;) {
      const rows = select.all({ after, limit: batch }).map((r) => (t.map ? t.map(r) : r));
      if (rows.length === 0) break;
      const written = await sql`INSERT INTO ${sql(t.table)} ${sql(rows as Array<Record<string, string | number | null>>, t.columns)} ON CONFLICT DO NOTHING`;
      copied += written.count;
      after = rows[rows.length - 1][t.key] as string | number;
      opts.progress?.(t.table, copied);
    }
    if (t.table === "attempts") {
      // Later attempts continue after the copied ids.
      await sql`SELECT setval(pg_get_serial_sequence('attempts', 'id'), GREATEST((SELECT max(id) FROM attempts), 1))`;
    }
    const source = sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${t.table}`).get()!.n;
    const [{ n: target }] = await sql<{ n: number }[]>`SELECT count(*) AS n FROM ${sql(t.table)}`;
    counts.push({ table: t.table, source, target, copied });
  }
  return counts;
}
