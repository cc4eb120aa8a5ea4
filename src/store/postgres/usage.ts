import type { SourceCounts, UsageStore } from "../types.ts";
import type { Sql } from "./connect.ts";

/** Usage since the start on PostgreSQL, as ../usage.ts; destination totals are added by the settle statement. */
export function pgUsage(sql: Sql): UsageStore {
  return {
    async destinations() {
      const rows = await sql<{ destination: string; sent: number; failed: number; last_sent_at: number | null; since: number }[]>`
        SELECT destination, sent, failed, last_sent_at, since FROM destination_totals`;
      return new Map(rows.map((r) => [r.destination, { sent: r.sent, failed: r.failed, lastSentAt: r.last_sent_at, since: r.since }]));
    },

    async sources() {
      const rows = await sql<{ source: string; received: number; rejected: number; last_received_at: number | null; since: number }[]>`
        SELECT source, received, rejected, last_received_at, since FROM source_totals`;
      return new Map(
        rows.map((r) => [r.source, { received: r.received, rejected: r.rejected, lastReceivedAt: r.last_received_at, since: r.since }]),
      );
    },

    /** Every instance adds its own counts; sources in one order, so two instances' batches wait, never deadlock. */
    async addSourceCounts(counts: Map<string, SourceCounts>) {
      if (counts.size === 0) return;
      const rows = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const col = <T>(f: (entry: [string, SourceCounts]) => T) => rows.map(f);
      await sql`
        INSERT INTO source_totals AS t (source, received, rejected, last_received_at, since)
        SELECT * FROM unnest(${col(([s]) => s)}::text[], ${col(([, c]) => c.received)}::bigint[], ${col(([, c]) => c.rejected)}::bigint[],
          ${col(([, c]) => c.lastReceivedAt)}::bigint[], ${col(([, c]) => c.since)}::bigint[])
        ON CONFLICT (source) DO UPDATE SET received = t.received + excluded.received, rejected = t.rejected + excluded.rejected,
          last_received_at = GREATEST(t.last_received_at, excluded.last_received_at)`;
    },
  };
}
