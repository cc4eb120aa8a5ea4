import type { Database } from "bun:sqlite";

// Cumulative usage counters (migration 6): destination_totals, added by each settle batch (migration 7), and source_totals,
// to which the HTTP side adds accepted and rejected requests in batches.

export interface DestinationTotals {
  sent: number;
  failed: number;
  lastSentAt: number | null;
  since: number;
}

export interface SourceTotals {
  received: number;
  rejected: number;
  lastReceivedAt: number | null;
  since: number;
}

/** Requests counted since the last batch; `since` is the first of them (used when the source is new). */
export interface SourceCounts {
  received: number;
  rejected: number;
  lastReceivedAt: number | null;
  since: number;
}

export function usageTable(store: { sqlite: Database }) {
  const { sqlite } = store;
  const destinations = sqlite.query<{ destination: string; sent: number; failed: number; last_sent_at: number | null; since: number }, []>(
    `SELECT destination, sent, failed, last_sent_at, since FROM destination_totals`,
  );
  const sources = sqlite.query<{ source: string; received: number; rejected: number; last_received_at: number | null; since: number }, []>(
    `SELECT source, received, rejected, last_received_at, since FROM source_totals`,
  );
  const add = sqlite.query<unknown, { source: string; received: number; rejected: number; last: number | null; since: number }>(
    `INSERT INTO source_totals (source, received, rejected, last_received_at, since) VALUES ($source, $received, $rejected, $last, $since)
     ON CONFLICT (source) DO UPDATE SET received = received + excluded.received, rejected = rejected + excluded.rejected,
       last_received_at = coalesce(max(last_received_at, excluded.last_received_at), last_received_at, excluded.last_received_at)`,
  );
  const addAll = sqlite.transaction((counts: Map<string, SourceCounts>) => {
    for (const [source, c] of counts) add.run({ source, received: c.received, rejected: c.rejected, last: c.lastReceivedAt, since: c.since });
  });

  return {
    destinations(): Map<string, DestinationTotals> {
      return new Map(destinations.all().map((r) => [r.destination, { sent: r.sent, failed: r.failed, lastSentAt: r.last_sent_at, since: r.since }]));
    },
    sources(): Map<string, SourceTotals> {
      return new Map(
        sources.all().map((r) => [r.source, { received: r.received, rejected: r.rejected, lastReceivedAt: r.last_received_at, since: r.since }]),
      );
    },
    /** Adds counts per source in one transaction. */
    addSourceCounts(counts: Map<string, SourceCounts>): void {
      if (counts.size > 0) addAll.immediate(counts);
    },
  };
}
