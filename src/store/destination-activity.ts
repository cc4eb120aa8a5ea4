import type { Database } from "bun:sqlite";

// Per-destination facts the Now view and GET /api/destinations show beside the counts: the oldest waiting delivery, the latest error.

export interface LastError {
  at: number;
  error: string;
}

export function destinationActivity(store: { sqlite: Database }) {
  const { sqlite } = store;
  // The head of the destination's line in the deliveries_due index: one seek, however long the backlog.
  const headOfLine = sqlite.query<{ at: number }, { destination: string }>(
    `SELECT created_at AS at FROM deliveries INDEXED BY deliveries_due
     WHERE status = 'pending' AND destination = $destination ORDER BY next_attempt_at LIMIT 1`,
  );
  // Both walk the deliveries_due index from its end, so they stay quick with millions of rows: the dead
  // delivery scheduled last, and the retrying one (failed, due again later than now) scheduled last.
  const lastDead = sqlite.query<{ id: string; last_error: string }, { destination: string }>(
    `SELECT id, last_error FROM deliveries INDEXED BY deliveries_due
     WHERE status = 'dead' AND destination = $destination AND last_error IS NOT NULL ORDER BY next_attempt_at DESC LIMIT 1`,
  );
  const lastRetrying = sqlite.query<{ id: string; last_error: string }, { destination: string; now: number }>(
    `SELECT id, last_error FROM deliveries INDEXED BY deliveries_due
     WHERE status = 'pending' AND destination = $destination AND next_attempt_at > $now AND last_error IS NOT NULL
     ORDER BY next_attempt_at DESC LIMIT 1`,
  );
  const lastAttempt = sqlite.query<{ at: number | null }, { id: string }>(`SELECT max(started_at) AS at FROM attempts WHERE delivery_id = $id`);

  return {
    /** Creation time of the pending delivery due first (the head of the line), or null when none waits. */
    oldestPending(destination: string): number | null {
      return headOfLine.get({ destination })?.at ?? null;
    },
    /** The latest error of a delivery dead or waiting for a retry, with the time of its last attempt; null when none. */
    lastError(destination: string, now: number): LastError | null {
      const candidates = [lastDead.get({ destination }), lastRetrying.get({ destination, now })]
        .filter((r): r is { id: string; last_error: string } => r !== null)
        .map((r) => ({ at: lastAttempt.get({ id: r.id })?.at ?? 0, error: r.last_error }));
      return candidates.sort((x, y) => y.at - x.at)[0] ?? null;
    },
  };
}
