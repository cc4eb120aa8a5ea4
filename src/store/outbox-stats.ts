import type { Database } from "bun:sqlite";

/** Statuses that make up the outbox's depth; delivered and digested rows are history, not depth. */
export const OUTBOX_STATUSES = ["pending", "in_flight", "held_for_digest", "dead"] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** Row counts per outbox status, every status present (0 when empty). */
export function outboxStats(store: { sqlite: Database }) {
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
