import postgres from "postgres";
import { Unavailable } from "../../errors.ts";
import { pgMigrations } from "./migrations.ts";

export type Sql = postgres.Sql;
/** A transaction's handle; queries on it run inside the transaction. */
export type Tx = postgres.TransactionSql;
/** Either the pool or a transaction. */
export type Query = Sql | Tx;
/** A piece of SQL built with the tagged template, to compose into a statement. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** BIGINT and count(*) come back as numbers: every integer Relay stores (epoch ms, counts) fits in 2^53. */
const int8AsNumber = { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) };

/** The URL with its password hidden, for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return `${u.protocol}//${u.username ? `${u.username}${u.password ? ":***" : ""}@` : ""}${u.host}${u.pathname}`;
  } catch {
    return "the configured PostgreSQL URL";
  }
}

/** The schema named by `?search_path=`, created if missing, so one database can hold several Relays (or tests). */
export function schemaOf(url: string): string | null {
  try {
    return new URL(url).searchParams.get("search_path")?.split(",")[0]?.trim() || null;
  } catch {
    return null;
  }
}

/** A pool of `max` connections; every commit waits for the WAL flush (synchronous_commit on). */
export function connect(url: string, max: number): Sql {
  return postgres(url, {
    max,
    types: { int8: int8AsNumber } as never,
    connection: { synchronous_commit: "on", application_name: "relay" },
    onnotice: () => {},
    connect_timeout: 10,
    // Reconnects back off for at most 1 s (the driver's default reaches 20 s): a query that waits for a connection
    // after an outage waits for no more than that.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
    idle_timeout: 0,
  });
}

/** True for errors that mean "the database is not there right now" rather than "this statement is wrong". */
export function isConnectionError(error: unknown): boolean {
  // drizzle wraps the driver's error in its own, with the original as the cause.
  const e = error as { code?: string; cause?: { code?: string } } | null;
  const code = e?.code ?? e?.cause?.code ?? "";
  return (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "ETIMEDOUT" ||
    code === "ENOTFOUND" ||
    code === "CONNECT_TIMEOUT" ||
    code === "CONNECTION_CLOSED" ||
    code === "CONNECTION_ENDED" ||
    code === "CONNECTION_DESTROYED" ||
    code.startsWith("08") || // connection exception
    code === "57P01" || // admin shutdown
    code === "57P03" // cannot connect now (starting up)
  );
}

/** Seconds a caller is asked to wait while the database is away. */
const RETRY_AFTER_S = 5;

/** A connection failure as a 503 with Retry-After; anything else unchanged. */
export function unavailable(error: unknown): unknown {
  return isConnectionError(error) ? new Unavailable("the database is unreachable; try again shortly", RETRY_AFTER_S, "database_unreachable") : error;
}

/**
 * Brings the schema to the version this Relay knows, once: every instance takes the same advisory lock, so the
 * first migrates and the others find the work done. A schema newer than this Relay is refused.
 */
export async function migrate(sql: Sql, schema: string | null): Promise<void> {
  if (schema) await sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`.catch(ignoreRace);
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':relay:migrate'))`;
    await tx`CREATE TABLE IF NOT EXISTS relay_schema (version INTEGER NOT NULL, migrated_at BIGINT NOT NULL)`;
    const [row] = await tx<{ version: number }[]>`SELECT max(version) AS version FROM relay_schema`;
    const applied = row?.version ?? 0;
    if (applied > pgMigrations.length) {
      throw new Error(
        `database schema version ${applied} is newer than this Relay (${pgMigrations.length}); upgrade Relay or point it at another database`,
      );
    }
    for (let v = applied; v < pgMigrations.length; v++) {
      await tx.unsafe(pgMigrations[v]);
      await tx`INSERT INTO relay_schema (version, migrated_at) VALUES (${v + 1}, ${Date.now()})`;
    }
  });
}

/** Two instances creating the same schema at once: one of them loses the race, which is fine. */
function ignoreRace(error: unknown): void {
  const code = (error as { code?: string }).code;
  if (code !== "23505" && code !== "42P06") throw error;
}
