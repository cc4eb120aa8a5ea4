import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { SourceCounts, Store } from "../store/types.ts";

/**
 * Accepted and rejected requests per source, added to the stored totals every few seconds and at stop, instead of
 * a write per request. A crash loses at most the last few seconds of counts; never an event.
 */
export function createSourceUsage(opts: { store: Store; clock: Clock; log: Logger; everyMs?: number }) {
  let pending = new Map<string, SourceCounts>();
  let timer: ReturnType<typeof setInterval> | null = null;

  const countsOf = (source: string, now: number): SourceCounts => {
    let c = pending.get(source);
    if (!c) pending.set(source, (c = { received: 0, rejected: 0, lastReceivedAt: null, since: now }));
    return c;
  };

  const flush = async (): Promise<void> => {
    if (pending.size === 0) return;
    const counts = pending;
    pending = new Map();
    try {
      await opts.store.usage.addSourceCounts(counts);
    } catch (error) {
      // Kept for the next batch: statistics may lag, they are never worth failing a request for.
      for (const [source, c] of counts) {
        const p = countsOf(source, c.since);
        p.received += c.received;
        p.rejected += c.rejected;
        p.lastReceivedAt = Math.max(p.lastReceivedAt ?? 0, c.lastReceivedAt ?? 0) || null;
        p.since = Math.min(p.since, c.since);
      }
      opts.log.warn("source usage not stored", { error: String(error) });
    }
  };

  return {
    received(source: string): void {
      const now = opts.clock.now();
      const c = countsOf(source, now);
      c.received++;
      c.lastReceivedAt = now;
    },
    rejected(source: string): void {
      countsOf(source, opts.clock.now()).rejected++;
    },
    flush,
    start(): void {
      timer ??= setInterval(() => void flush(), opts.everyMs ?? 5_000);
    },
    /** Stops the timer and stores what is counted; resolves once written (or given up, with a warning). */
    stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      return flush();
    },
  };
}
