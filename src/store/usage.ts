import type { Store } from "./store.ts";

// Cumulative usage counters (migration 6): destination_totals and source_totals, kept by triggers on attempts and
// events; rejected requests are added here, in batches, since a rejected request writes nothing else.

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

export function usageTable(store: Store) {
  const { sqlite } = store;
  const destinations = sqlite.query<{ destination: string; sent: number; failed: number; last_sent_at: number | null; since: number }, []>(
    `SELECT destination, sent, failed, last_sent_at, since FROM destination_totals`,
  );
  const sources = sqlite.query<{ source: string; received: number; rejected: number; last_received_at: number | null; since: number }, []>(
    `SELECT source, received, rejected, last_received_at, since FROM source_totals`,
  );
  const addRejected = sqlite.query<unknown, { source: string; n: number; now: number }>(
    `INSERT INTO source_totals (source, rejected, since) VALUES ($source, $n, $now)
     ON CONFLICT (source) DO UPDATE SET rejected = rejected + excluded.rejected`,
  );
  const addAll = sqlite.transaction((counts: Map<string, number>, now: number) => {
    for (const [source, n] of counts) addRejected.run({ source, n, now });
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
    /** Adds rejected-request counts per source in one transaction. */
    addRejected(counts: Map<string, number>, now: number): void {
      if (counts.size > 0) addAll.immediate(counts, now);
    },
  };
}
