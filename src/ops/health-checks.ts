import type { Clock } from "../clock.ts";
import type { Store } from "../store/types.ts";
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
  /** What live instances sharing the store disagree on (versions, configs); none on SQLite. */
  instanceWarnings?: () => Promise<string[]>;
}

/** The parts of Relay that can fail at run time, beside the database read that health.ts always makes. */
export function healthChecks(deps: HealthCheckDeps): Record<string, Check> {
  const postgres = deps.store.backend === "postgres";
  /** The pending delivery first in line over every destination: its creation time. One index seek each. */
  const firstInLine = async (destinations: string[]) => {
    const heads = await Promise.all(destinations.map((d) => deps.store.admin.oldestPending(d)));
    let oldest: { destination: string; createdAt: number } | null = null;
    for (const [i, at] of heads.entries()) {
      if (at !== null && (oldest === null || at < oldest.createdAt)) oldest = { destination: destinations[i], createdAt: at };
    }
    return oldest;
  };
  const checks: Record<string, Check> = {
    writer: async () => {
      // Health never waits for the write lock: a stuck commit is the storage check's verdict, not the writer's.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const busy = new Promise<"busy">((resolve) => (timer = setTimeout(() => resolve("busy"), WRITER_BUSY_MS)));
      try {
        const answer = await Promise.race([deps.store.pingWriter(), busy]);
        // On PostgreSQL the hot writes take pooled connections: this times the wait for one.
        const via = postgres ? { via: "PostgreSQL connection pool" } : {};
        if (answer === "busy") {
          const waiting = postgres ? "every connection is busy" : "a write is waiting; see storage";
          return { status: "warn", ...via, error: `busy: no answer within ${WRITER_BUSY_MS} ms (${waiting})` };
        }
        return { status: "ok", ...via };
      } finally {
        clearTimeout(timer);
      }
    },
    storage: () => {
      const verdict = deps.storage.verdict();
      const free = deps.storage.freeBytes();
      // PostgreSQL keeps its files on the database server: their free space is its operator's to watch.
      const detail = postgres ? { freeSpace: "not checked on PostgreSQL" } : free === null ? {} : { freeBytes: free };
      return verdict.ok ? { status: "ok", ...detail } : { status: "failed", error: verdict.reason, ...detail };
    },
    outbox: async () => {
      const first = await firstInLine(deps.destinations());
      if (first === null) return { status: "ok", oldestPendingSeconds: 0, destination: null };
      const ageMs = Math.max(0, deps.clock.now() - first.createdAt);
      const report = { oldestPendingSeconds: Math.round(ageMs / 1000), destination: first.destination };
      return ageMs > PENDING_WARN_MS ? { status: "warn", ...report } : { status: "ok", ...report };
    },
  };
  // Only where several instances share the store: live ones that run different versions or configs are a warning.
  if (deps.store.shared && deps.instanceWarnings) {
    const warningsOf = deps.instanceWarnings;
    checks.instances = async () => {
      const warnings = await warningsOf();
      return warnings.length > 0 ? { status: "warn", warnings } : { status: "ok" };
    };
  }
  return checks;
}
