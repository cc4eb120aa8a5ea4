import type { Store } from "./store.ts";

// Per-destination facts the Now view and GET /api/destinations show beside the counts: the oldest waiting delivery, the latest error.

export interface LastError {
  at: number;
  error: string;
}

export function destinationHealth(store: Store) {
  const { sqlite } = store;
  // Walks the deliveries_due index: pending rows only.
  const oldestPending = sqlite.query<{ destination: string; at: number }, []>(
    `SELECT destination, min(created_at) AS at FROM deliveries WHERE status = 'pending' GROUP BY destination`,
  );
  // The newest waiting or dead delivery that recorded an error, then its newest attempt for the time.
  const lastFailed = sqlite.query<{ id: string; last_error: string }, { destination: string }>(
    `SELECT id, last_error FROM deliveries
     WHERE status IN ('pending', 'dead') AND destination = $destination AND last_error IS NOT NULL
     ORDER BY id DESC LIMIT 1`,
  );
  const lastAttempt = sqlite.query<{ at: number | null }, { id: string }>(`SELECT max(started_at) AS at FROM attempts WHERE delivery_id = $id`);

  return {
    /** Creation time of the oldest pending delivery, per destination. */
    oldestPending(): Map<string, number> {
      return new Map(oldestPending.all().map((r) => [r.destination, r.at]));
    },
    /** The latest error of a delivery still waiting or dead; null when none is. */
    lastError(destination: string): LastError | null {
      const row = lastFailed.get({ destination });
      if (!row) return null;
      return { at: lastAttempt.get({ id: row.id })?.at ?? 0, error: row.last_error };
    },
  };
}
