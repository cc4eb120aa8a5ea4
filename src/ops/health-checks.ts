import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { Clock } from "../clock.ts";
import { firstInLine } from "../store/outbox-stats.ts";
import type { Store } from "../store/store.ts";

/** Below this much free space beside the database, SQLite's next WAL growth may fail: Relay is unhealthy. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;
/** A delivery waiting longer than this is reported as a warning (receivers down, or a stalled worker). */
export const PENDING_WARN_MS = 60 * 60 * 1000;

/** Structurally the HealthCheck of health.ts: a verdict, with details beside the status. */
type Check = () => { status: "ok" | "warn" | "failed"; [detail: string]: unknown } | Promise<{ status: "ok" | "warn" | "failed"; [detail: string]: unknown }>;

export interface HealthCheckDeps {
  store: Store;
  databasePath: string;
  destinations: () => string[];
  clock: Clock;
  /** Default MIN_FREE_BYTES. */
  minFreeBytes?: number;
}

/** The parts of Relay that can fail at run time, beside the database read that health.ts always makes. */
export function healthChecks(deps: HealthCheckDeps): Record<string, Check> {
  const oldest = firstInLine(deps.store);
  return {
    writer: async () => {
      await deps.store.pingWriter();
      return { status: "ok" };
    },
    disk: () => {
      const fs = statfsSync(dirname(deps.databasePath));
      const freeBytes = fs.bavail * fs.bsize;
      if (freeBytes < (deps.minFreeBytes ?? MIN_FREE_BYTES)) return { status: "failed", freeBytes, error: `only ${freeBytes} bytes free beside the database` };
      return { status: "ok", freeBytes };
    },
    outbox: () => {
      const first = oldest(deps.destinations());
      if (first === null) return { status: "ok", oldestPendingSeconds: 0, destination: null };
      const ageMs = Math.max(0, deps.clock.now() - first.createdAt);
      const report = { oldestPendingSeconds: Math.round(ageMs / 1000), destination: first.destination };
      return ageMs > PENDING_WARN_MS ? { status: "warn", ...report } : { status: "ok", ...report };
    },
  };
}
