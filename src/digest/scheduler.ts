import { Cron } from "croner";
import type { Clock } from "../clock.ts";
import type { Config, DestinationConfig, DigestConfig } from "../config/types.ts";
import { NotFound } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { DigestPart, Store } from "../store/types.ts";
import { digestBody } from "./body.ts";
import { MAX_MISSED_WINDOWS, missedTicks, previousTick } from "./window.ts";

export interface DigestSchedulerOptions {
  store: Store;
  /** Read on every close, so a reloaded config applies to the next window. */
  config: () => Config;
  clock: Clock;
  log: Logger;
  /** Called after a window was closed into at least one digest delivery (the composition root wakes the worker). */
  onClosed?: (closed: ClosedWindow) => void;
  /** Most missed windows closed one by one at catch-up; older ones merge into the first. Default 100. */
  maxMissedWindows?: number;
}

export interface ClosedWindow {
  destination: string;
  windowStart: number;
  windowEnd: number;
  /** Parts written by this close (an empty unsent window has one part with no delivery). */
  digests: DigestPart[];
  items: number;
}

export interface FlushResult {
  /** Digest parts sent by this flush, in window and part order. */
  digests: DigestPart[];
  items: number;
}

export interface ScheduledJob {
  destination: string;
  cron: string;
  timezone: string;
  /** Next real-time firing, epoch milliseconds. */
  nextRunAt: number | null;
}

export type DigestScheduler = ReturnType<typeof createDigestScheduler>;

type DigestDestination = DestinationConfig & { digest: DigestConfig };

/**
 * Closes digest windows: one croner job per digest destination fires at each tick and closes every
 * window due by then (the just-ended one, plus any missed while the process slept); `catchUp` does the
 * same for every destination at start-up; `flush` closes everything held up to now.
 */
export function createDigestScheduler(opts: DigestSchedulerOptions) {
  const { store, clock, log } = opts;
  const table = store.digests;
  const maxMissed = opts.maxMissedWindows ?? MAX_MISSED_WINDOWS;
  const jobs = new Map<string, { job: Cron; cron: string; timezone: string }>();
  let running = false;

  const digestDestination = (name: string): DigestDestination => {
    const dest = opts.config().destinations[name];
    if (!dest) throw new NotFound(`unknown destination "${name}"`);
    if (!dest.digest) throw new NotFound(`destination "${name}" has no digest`);
    return dest as DigestDestination;
  };

  const closeOne = async (dest: DigestDestination, windowStart: number, windowEnd: number, sendEmpty: boolean): Promise<ClosedWindow | null> => {
    const { digest } = dest;
    const now = clock.now();
    const result = await table.closeWindow({
      destination: dest.name,
      windowStart,
      windowEnd,
      maxItems: digest.maxItems,
      sendEmpty,
      buildBody: (items, part, parts) =>
        digestBody({ format: digest.body, destination: dest.name, windowStart, windowEnd, items, part, parts }),
      now,
      newId: (prefix) => newId(prefix, now),
    });
    if (!result.created) return null;
    const closed: ClosedWindow = { destination: dest.name, windowStart, windowEnd, digests: result.digests, items: result.items };
    const sent = closed.digests.filter((d) => d.deliveryId !== null).length;
    log.info("digest window closed", {
      destination: dest.name,
      windowEnd: new Date(windowEnd).toISOString(),
      items: closed.items,
      parts: sent,
    });
    if (sent > 0) opts.onClosed?.(closed);
    return closed;
  };

  /** The window start recorded for a tick: the later of the last closed end and the tick before. */
  const startFor = (digest: DigestConfig, end: number, lastClosed: number | null): number => {
    const nominal = previousTick(digest.cron, digest.timezone, end - 1);
    if (lastClosed !== null && (nominal === null || lastClosed > nominal)) return lastClosed;
    return nominal ?? end;
  };

  /** Closes every window whose tick is in (last closed end, at], oldest first. */
  const closeDue = async (name: string, at: number, onlyWithHistory: boolean): Promise<ClosedWindow[]> => {
    const dest = digestDestination(name);
    const { digest } = dest;
    let lastClosed = await table.lastClosedWindowEnd(name);
    if (lastClosed === null) {
      const oldest = await table.oldestHeldAt(name);
      // Never closed: windows from the oldest waiting item on; nothing waiting means nothing was missed.
      if (oldest !== null) lastClosed = oldest - 1;
      else if (onlyWithHistory) return [];
    }
    const closed: ClosedWindow[] = [];
    for (const end of missedTicks(digest.cron, digest.timezone, lastClosed, at, maxMissed)) {
      const window = await closeOne(dest, startFor(digest, end, await table.lastClosedWindowEnd(name)), end, digest.sendEmpty);
      if (window) closed.push(window);
    }
    return closed;
  };

  const stopJobs = () => {
    for (const { job } of jobs.values()) job.stop();
    jobs.clear();
  };

  const startJobs = () => {
    for (const dest of Object.values(opts.config().destinations)) {
      if (!dest.digest) continue;
      const { cron, timezone } = dest.digest;
      const name = dest.name;
      try {
        const onError = (error: unknown) => log.error("digest close failed", { destination: name, error: String(error) });
        const job = new Cron(cron, { timezone, protect: true, catch: onError }, async () => {
          // The destination may have lost its digest in a reload that raced this tick.
          if (opts.config().destinations[name]?.digest) await closeDue(name, clock.now(), false);
        });
        jobs.set(name, { job, cron, timezone });
      } catch (error) {
        log.error("digest schedule invalid", { destination: name, cron, timezone, error: String(error) });
      }
    }
  };

  return {
    /** One job per digest destination; call `catchUp()` first so missed windows go out before new ones. */
    start(): void {
      if (running) return;
      running = true;
      startJobs();
    },

    stop(): void {
      running = false;
      stopJobs();
    },

    /** Rebuilds the jobs from the current config (cron, timezone, added or removed digests). */
    reload(): void {
      if (!running) return;
      stopJobs();
      startJobs();
    },

    /**
     * Closes the window ending at the latest tick at or before `at`, and any earlier window still open
     * (a missed tick). Windows already closed are left alone, so calling it twice writes nothing.
     */
    close(destination: string, at: number = clock.now()): Promise<ClosedWindow[]> {
      return closeDue(destination, at, false);
    },

    /**
     * At start-up: for each digest destination, closes the windows whose tick passed while Relay was
     * down. A destination that never closed a window and holds nothing is skipped.
     */
    async catchUp(): Promise<ClosedWindow[]> {
      const now = clock.now();
      const closed: ClosedWindow[] = [];
      for (const dest of Object.values(opts.config().destinations)) {
        if (!dest.digest) continue;
        try {
          closed.push(...(await closeDue(dest.name, now, true)));
        } catch (error) {
          log.error("digest catch-up failed", { destination: dest.name, error: String(error) });
        }
      }
      return closed;
    },

    /**
     * Sends everything held up to now: due windows close as scheduled, then a window ending now takes
     * the rest. Nothing held: nothing is written or sent (send_empty applies to scheduled windows only).
     */
    async flush(destination: string): Promise<FlushResult> {
      const dest = digestDestination(destination);
      const now = clock.now();
      const windows = await closeDue(destination, now, true);
      if ((await table.heldCount(destination, now)) > 0) {
        const lastClosed = await table.lastClosedWindowEnd(destination);
        const start = lastClosed ?? (await table.oldestHeldAt(destination))! - 1;
        const window = await closeOne(dest, start, now, false);
        if (window) windows.push(window);
      }
      const digests = windows.flatMap((w) => w.digests.filter((d) => d.deliveryId !== null));
      return { digests, items: windows.reduce((n, w) => n + w.items, 0) };
    },

    /** The live jobs, for diagnostics and tests. */
    jobs(): ScheduledJob[] {
      return [...jobs.entries()].map(([destination, { job, cron, timezone }]) => ({
        destination,
        cron,
        timezone,
        nextRunAt: job.nextRun()?.getTime() ?? null,
      }));
    },
  };
}
