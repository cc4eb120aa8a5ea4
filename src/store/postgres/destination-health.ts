import type { DestinationHealthRow } from "../types.ts";
import type { Sql } from "./connect.ts";

/** Failure runs and disabled destinations on PostgreSQL (destination_health), as the SQLite writer keeps them. */
export function pgDestinationHealth(sql: Sql) {
  return {
    async destinationHealth(): Promise<DestinationHealthRow[]> {
      return sql<DestinationHealthRow[]>`
        SELECT destination, failing_since AS "failingSince", disabled_at AS "disabledAt" FROM destination_health`;
    },

    async setFailingSince(destination: string, since: number | null): Promise<void> {
      await sql`
        INSERT INTO destination_health (destination, failing_since) VALUES (${destination}, ${since})
        ON CONFLICT (destination) DO UPDATE SET failing_since = excluded.failing_since`;
    },

    /** The destination disabled and its pending deliveries dead, in one transaction; resolves with how many. */
    async disableDestination(destination: string, at: number, reason: string): Promise<number> {
      return sql.begin(async (tx) => {
        await tx`
          INSERT INTO destination_health (destination, failing_since, disabled_at, disabled_reason) VALUES (${destination}, NULL, ${at}, ${reason})
          ON CONFLICT (destination) DO UPDATE SET disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason, failing_since = NULL`;
        const killed = await tx`
          UPDATE deliveries SET status = 'dead', last_error = ${reason} WHERE destination = ${destination} AND status = 'pending'`;
        return killed.count;
      });
    },

    async enableDestination(destination: string): Promise<void> {
      await sql`
        UPDATE destination_health SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL WHERE destination = ${destination}`;
    },
  };
}
