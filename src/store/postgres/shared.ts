import { asc, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import type { InstanceRecord, RateDecision, SharedDestinationState } from "../types.ts";
import type { Sql } from "./connect.ts";
import { destinationState, instances } from "./schema.ts";

const MINUTE_MS = 60_000;
const FORGET_AFTER_MS = 7 * 24 * 3_600_000;

/** What several instances share through the database: heartbeats, API-key buckets, destination pause and circuit. */
export function pgShared(sql: Sql) {
  const db = drizzle(sql);
  return {
    async heartbeat(instance: Omit<InstanceRecord, "lastSeenAt">, now: number): Promise<void> {
      const row = { ...instance, lastSeenAt: now };
      await db.insert(instances).values(row).onConflictDoUpdate({ target: instances.id, set: row });
      // An instance gone for a week is forgotten.
      await db.delete(instances).where(lt(instances.lastSeenAt, now - FORGET_AFTER_MS));
    },

    async instances(): Promise<InstanceRecord[]> {
      return db.select().from(instances).orderBy(asc(instances.startedAt), asc(instances.id));
    },

    /**
     * The token bucket of auth/rate-limit.ts, kept in one row per key and updated in one statement, so every
     * instance draws from the same bucket. Every SET reads the row as it was before the update.
     */
    async takeRateToken(keyId: string, limitPerMinute: number, now: number): Promise<RateDecision> {
      const capacity = limitPerMinute * MINUTE_MS;
      const [row] = await sql<{ units: number; taken: boolean }[]>`
        INSERT INTO rate_buckets AS b (key_id, units, at, taken) VALUES (${keyId}, ${capacity - MINUTE_MS}, ${now}, true)
        ON CONFLICT (key_id) DO UPDATE SET
          units = LEAST(${capacity}::bigint, b.units + GREATEST(0, ${now} - b.at) * ${limitPerMinute})
            - CASE WHEN LEAST(${capacity}::bigint, b.units + GREATEST(0, ${now} - b.at) * ${limitPerMinute}) >= ${MINUTE_MS} THEN ${MINUTE_MS} ELSE 0 END,
          at = GREATEST(b.at, ${now}),
          taken = LEAST(${capacity}::bigint, b.units + GREATEST(0, ${now} - b.at) * ${limitPerMinute}) >= ${MINUTE_MS}
        RETURNING units, taken`;
      if (row.taken) return { allowed: true };
      const waitMs = (MINUTE_MS - row.units) / limitPerMinute;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    },

    async destinationStates(): Promise<SharedDestinationState[]> {
      return db.select().from(destinationState);
    },

    /** Keeps the newer of what is stored and `state` (by updatedAt), so a late write cannot undo a later change. */
    async saveDestinationState(state: SharedDestinationState): Promise<void> {
      await sql`
        INSERT INTO destination_state AS s (destination, paused, circuit, opened_at, next_probe_at, probe_delay_ms, updated_at, updated_by)
        VALUES (${state.destination}, ${state.paused}, ${state.circuit}, ${state.openedAt}, ${state.nextProbeAt}, ${state.probeDelayMs},
          ${state.updatedAt}, ${state.updatedBy})
        ON CONFLICT (destination) DO UPDATE SET paused = excluded.paused, circuit = excluded.circuit, opened_at = excluded.opened_at,
          next_probe_at = excluded.next_probe_at, probe_delay_ms = excluded.probe_delay_ms, updated_at = excluded.updated_at,
          updated_by = excluded.updated_by
        WHERE s.updated_at <= excluded.updated_at`;
    },
  };
}
