import type { Database } from "bun:sqlite";
import type { DestinationCounts, DestinationWindow } from "./admin-queries.ts";
import { openCountsOf } from "./rows.ts";

// Per-destination figures for GET /api/destinations and the dashboard: open counts, the last hour's attempts, which
// destinations the store knows.

export function adminStats(store: { sqlite: Database }) {
  const { sqlite } = store;

  const openCounts = sqlite.query<{ destination: string; status: string; n: number }, []>(
    `SELECT destination, status, count(*) AS n FROM deliveries
     WHERE status IN ('pending', 'in_flight', 'dead', 'held_for_digest') GROUP BY destination, status`,
  );
  // Nearest rank: the p-th percentile of n sorted values is the ceil(p·n/100)-th.
  const windowStats = sqlite.query<RawWindow, { since: number; until: number }>(
    `WITH w AS (
       SELECT d.destination AS destination, a.duration_ms AS ms, a.error IS NULL AS ok,
              row_number() OVER (PARTITION BY d.destination ORDER BY a.duration_ms) AS rn,
              count(*) OVER (PARTITION BY d.destination) AS n
       FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE a.started_at >= $since AND a.started_at <= $until
     )
     SELECT destination, sum(ok) AS sent, max(n) - sum(ok) AS failed,
            max(CASE WHEN rn = (50 * n + 99) / 100 THEN ms END) AS p50,
            max(CASE WHEN rn = (95 * n + 99) / 100 THEN ms END) AS p95,
            max(CASE WHEN rn = (99 * n + 99) / 100 THEN ms END) AS p99
     FROM w GROUP BY destination`,
  );
  const lastDelivered = sqlite.query<{ at: number | null }, { destination: string }>(
    `SELECT max(delivered_at) AS at FROM deliveries WHERE destination = $destination AND delivered_at IS NOT NULL`,
  );
  // A loose index scan: one seek per distinct destination instead of reading every delivery.
  const storedDestinations = sqlite.query<{ name: string }, []>(
    `WITH RECURSIVE names(name) AS (
       SELECT min(destination) FROM deliveries
       UNION ALL
       SELECT (SELECT min(destination) FROM deliveries WHERE destination > names.name) FROM names WHERE names.name IS NOT NULL
     )
     SELECT name FROM names WHERE name IS NOT NULL`,
  );

  return {
    /** Destinations with at least one delivery row, configured or not. */
    storedDestinations(): string[] {
      return storedDestinations.all().map((r) => r.name);
    },

    /** Deliveries still open, per destination. */
    openCounts(): Map<string, DestinationCounts> {
      return openCountsOf(openCounts.all());
    },

    /** Attempts started in [since, until], per destination. */
    attemptWindow(since: number, until: number): Map<string, DestinationWindow> {
      return new Map(windowStats.all({ since, until }).map((r) => [r.destination, { sent: r.sent, failed: r.failed, p50: r.p50, p95: r.p95, p99: r.p99 }]));
    },

    lastDeliveredAt(destination: string): number | null {
      return lastDelivered.get({ destination })?.at ?? null;
    },
  };
}

interface RawWindow {
  destination: string;
  sent: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
}
