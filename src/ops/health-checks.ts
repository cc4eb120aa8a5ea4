import type { Clock } from "../clock.ts";
import { firstInLine } from "../store/outbox-stats.ts";
import type { Store } from "../store/store.ts";
import type { StorageHealth } from "./storage-health.ts";

/** A writer round trip slower than this is reported as busy (a write waiting for the lock), not waited for. */
export const WRITER_BUSY_MS = 250;
/** A delivery waiting longer than this is reported as a warning (receivers down, or a stalled worker). */
export const PENDING_WARN_MS = 60 * 60 * 1000;

/** Structurally the HealthCheck of health.ts: a verdict, with details beside the status. */
type Check = () => { status: "ok" | "warn" | "failed"; [detail: string]: unknown } | Promise<{ status: "ok" | "warn" | "failed"; [detail: string]: unknown }>;

export interface HealthCheckDeps {
  store: Store;
  /** Failing writes, a commit stuck on the write lock, free space below storage.min_free. */
  storage: StorageHealth;
  destinations: () => string[];
  clock: Clock;
}

/** The parts of Relay that can fail at run time, beside the database read that health.ts always makes. */
export function healthChecks(deps: HealthCheckDeps): Record<string, Check> {
  const oldest = firstInLine(deps.store);
  return {
    writer: async () => {
      // Health never waits for the write lock: a stuck commit is the storage check's verdict, not the writer's.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const busy = new Promise<"busy">((resolve) => (timer = setTimeout(() => resolve("busy"), WRITER_BUSY_MS)));
      try {
        const answer = await Promise.race([deps.store.pingWriter(), busy]);
        if (answer === "busy") return { status: "warn", error: `busy: no answer within ${WRITER_BUSY_MS} ms (a write is waiting; see storage)` };
        return { status: "ok" };
      } finally {
        clearTimeout(timer);
      }
    },
    storage: () => {
      const verdict = deps.storage.verdict();
      const free = deps.storage.freeBytes();
      const detail = free === null ? {} : { freeBytes: free };
      return verdict.ok ? { status: "ok", ...detail } : { status: "failed", error: verdict.reason, ...detail };
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
