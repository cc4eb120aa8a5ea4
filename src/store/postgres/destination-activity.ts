import type { LastError } from "../types.ts";
import type { Sql } from "./connect.ts";

/** Per-destination facts beside the counts, as ../destination-activity.ts: each a walk of deliveries_due from one end. */
export function pgDestinationActivity(sql: Sql) {
  return {
    async oldestPending(destination: string): Promise<number | null> {
      const [row] = await sql<{ at: number }[]>`
        SELECT created_at AS at FROM deliveries WHERE status = 'pending' AND destination = ${destination}
        ORDER BY next_attempt_at LIMIT 1`;
      return row?.at ?? null;
    },

    /** The dead delivery scheduled last and the retrying one due last; the one attempted later wins. */
    async lastError(destination: string, now: number): Promise<LastError | null> {
      const rows = await sql<{ at: number | null; error: string }[]>`
        SELECT (SELECT max(started_at) FROM attempts WHERE delivery_id = c.id) AS at, c.last_error AS error FROM (
          (SELECT id, last_error FROM deliveries WHERE status = 'dead' AND destination = ${destination} AND last_error IS NOT NULL
           ORDER BY next_attempt_at DESC LIMIT 1)
          UNION ALL
          (SELECT id, last_error FROM deliveries WHERE status = 'pending' AND destination = ${destination} AND next_attempt_at > ${now}
             AND last_error IS NOT NULL ORDER BY next_attempt_at DESC LIMIT 1)
        ) c`;
      const candidates = rows.map((r) => ({ at: r.at ?? 0, error: r.error }));
      return candidates.sort((x, y) => y.at - x.at)[0] ?? null;
    },
  };
}
