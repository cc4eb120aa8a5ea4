import type { Database } from "bun:sqlite";

// Finding an event by what an operator has in hand: an idempotency key (unique per source) or a delivery id.

export function eventLookup(store: { sqlite: Database }) {
  const { sqlite } = store;
  // One seek in events_idempotency per source.
  const byKey = sqlite.query<{ id: string }, { source: string; key: string }>(
    `SELECT id FROM events WHERE source = $source AND idempotency_key = $key`,
  );
  return {
    /** Ids of events carrying this idempotency key, one per source at most. */
    eventsByIdempotencyKey(key: string, sources: readonly string[]): string[] {
      return sources.flatMap((source) => byKey.all({ source, key }).map((r) => r.id));
    },
  };
}
