import type { Clock } from "../clock.ts";
import { DEFAULT_DISABLE_AFTER_MS } from "../config/defaults.ts";
import type { Config } from "../config/types.ts";
import type { Logger } from "../log.ts";
import type { Settlement, Store } from "../store/types.ts";

// A destination failing for days is disabled: its pending deliveries become dead (kept, retryable) instead of
// piling up until the disk is full. Decisions are pure; the shell below keeps the state and tells the store.

/** How often deliveries created for a disabled destination are made dead too. */
const SWEEP_MS = 60_000;
/** How often an instance sharing the store takes in what the others disabled and enabled. */
const SHARED_SYNC_MS = 1_000;

/** Pure: when the destination's current run of failures began, after an attempt with this outcome at `at`. */
export function nextFailingSince(current: number | null, outcome: Settlement["outcome"], at: number): number | null {
  if (outcome === "delivered") return null;
  return current ?? at;
}

/** Pure: whether a run of failures that began at `failingSince` has lasted long enough to disable. */
export function disableDue(failingSince: number | null, now: number, disableAfterMs: number): boolean {
  return failingSince !== null && disableAfterMs > 0 && now - failingSince >= disableAfterMs;
}

export interface DisablerDeps {
  store: Store;
  config: () => Config;
  clock: Clock;
  log: Logger;
  pause: (name: string) => void;
  resume: (name: string) => void;
}

export type Disabler = ReturnType<typeof createDisabler>;

export function createDisabler({ store, config, clock, log, pause, resume }: DisablerDeps) {
  const failing = new Map<string, number | null>();
  const disabled = new Set<string>();
  let sweep: ReturnType<typeof setInterval> | null = null;
  let shared: ReturnType<typeof setInterval> | null = null;
  // An enable whose write had not landed when a sync read the rows: that read must not disable it again.
  let enables = 0;
  const enabledAt = new Map<string, number>();
  const pendingEnables = new Set<string>();
  const recordEnabled = (name: string) => {
    enabledAt.set(name, ++enables);
    pendingEnables.add(name);
    store.enableDestination(name)
      .catch((error) => log.warn("could not record destination enabled", { destination: name, error: String(error) }))
      .finally(() => pendingEnables.delete(name));
  };

  const reason = (name: string, since: number) =>
    `destination "${name}" disabled after failing continuously since ${new Date(since).toISOString()}`;

  const disable = async (name: string, since: number) => {
    disabled.add(name);
    pause(name);
    const dead = await store.disableDestination(name, clock.now(), reason(name, since));
    log.error("destination disabled", { destination: name, failingSince: new Date(since).toISOString(), deliveriesDead: dead });
  };

  return {
    /** Restores the stored state: disabled destinations stay paused across restarts. */
    async start(): Promise<void> {
      for (const row of await store.destinationHealth()) {
        failing.set(row.destination, row.failingSince);
        if (row.disabledAt !== null) {
          disabled.add(row.destination);
          pause(row.destination);
        }
      }
      sweep = setInterval(() => {
        for (const name of disabled) {
          void store.disableDestination(name, clock.now(), `destination "${name}" is disabled`).catch(() => {});
        }
      }, SWEEP_MS);
      sweep.unref?.();
      if (store.shared) {
        shared = setInterval(() => void this.sync().catch((error) => log.error("disabled destinations not read", { error: String(error) })), SHARED_SYNC_MS);
        shared.unref?.();
      }
    },

    stop(): void {
      if (sweep) clearInterval(sweep);
      if (shared) clearInterval(shared);
      sweep = shared = null;
    },

    /**
     * Takes in what other instances on the same store disabled or enabled. Enabling only forgets: the resume that
     * came with it reaches this instance as a shared pause state.
     */
    async sync(): Promise<void> {
      const readAfter = enables;
      for (const row of await store.destinationHealth()) {
        if (pendingEnables.has(row.destination) || (enabledAt.get(row.destination) ?? 0) > readAfter) continue;
        if (row.disabledAt !== null && !disabled.has(row.destination)) {
          disabled.add(row.destination);
          pause(row.destination);
          log.info("destination disabled by another instance", { destination: row.destination });
        } else if (row.disabledAt === null && disabled.delete(row.destination)) {
          failing.delete(row.destination);
          log.info("destination enabled by another instance", { destination: row.destination });
        }
      }
    },

    /** Pass each settled attempt (the worker's onSettled). */
    async settled(s: Settlement, destination: string): Promise<void> {
      if (disabled.has(destination)) return;
      const before = failing.get(destination) ?? null;
      const at = s.attempt.startedAt;
      const since = nextFailingSince(before, s.outcome, at);
      if (since !== before) {
        failing.set(destination, since);
        await store.setFailingSince(destination, since).catch((error) => log.warn("could not record destination failure", { destination, error: String(error) }));
      }
      const dest = config().destinations[destination];
      if (dest && since !== null && disableDue(since, clock.now(), dest.disableAfterMs ?? DEFAULT_DISABLE_AFTER_MS)) {
        await disable(destination, since);
      }
    },

    isDisabled(name: string): boolean {
      return disabled.has(name);
    },

    /** An admin action (resume) or a reload turns it back on; its dead deliveries stay dead until retried. */
    enable(name: string): boolean {
      if (!disabled.delete(name)) {
        // Another instance may have disabled it since this one last looked.
        if (store.shared) recordEnabled(name);
        return false;
      }
      failing.delete(name);
      recordEnabled(name);
      resume(name);
      log.info("destination enabled", { destination: name });
      return true;
    },

    /** On config reload every disabled destination gets another chance. */
    reload(): void {
      for (const name of [...disabled]) this.enable(name);
    },
  };
}
