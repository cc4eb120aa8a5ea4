import type { Store } from "./store.ts";

/** Statuses that make up the outbox's depth; delivered and digested rows are history, not depth. */
export const OUTBOX_STATUSES = ["pending", "in_flight", "held_for_digest", "dead"] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** Row counts per outbox status, every status present (0 when empty). */
export function outboxStats(store: Store) {
  // The IN list keeps the count on the (status, …) index, away from the ever-growing delivered rows.
  const grouped = store.sqlite.query<{ status: OutboxStatus; n: number }, []>(
    `SELECT status, count(*) AS n FROM deliveries WHERE status IN ('pending', 'in_flight', 'held_for_digest', 'dead') GROUP BY status`,
  );
  return (): Record<OutboxStatus, number> => {
    const depth = { pending: 0, in_flight: 0, held_for_digest: 0, dead: 0 };
    for (const row of grouped.all()) depth[row.status] = row.n;
    return depth;
  };
}

/** Per destination, the pending delivery first in line (earliest due): its creation time. One index seek each. */
export function firstInLine(store: Store) {
  const first = store.sqlite.query<{ created_at: number }, { destination: string }>(
    `SELECT created_at FROM deliveries WHERE status = 'pending' AND destination = $destination ORDER BY next_attempt_at LIMIT 1`,
  );
  return (destinations: string[]): { destination: string; createdAt: number } | null => {
    let oldest: { destination: string; createdAt: number } | null = null;
    for (const destination of destinations) {
      const row = first.get({ destination });
      if (row && (oldest === null || row.created_at < oldest.createdAt)) oldest = { destination, createdAt: row.created_at };
    }
    return oldest;
  };
}
