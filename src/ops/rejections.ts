import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
import { usageTable } from "../store/usage.ts";

/** Rejected requests per source, added to the stored totals every few seconds instead of a write per bad request. */
export function createRejectionCounter(opts: { store: Store; clock: Clock; log: Logger; everyMs?: number }) {
  const usage = usageTable(opts.store);
  let pending = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | null = null;

  const flush = () => {
    if (pending.size === 0) return;
    const counts = pending;
    pending = new Map();
    try {
      usage.addRejected(counts, opts.clock.now());
    } catch (error) {
      // Counted again next time: statistics may lag, they are never worth failing a request for.
      for (const [source, n] of counts) pending.set(source, (pending.get(source) ?? 0) + n);
      opts.log.warn("rejection counts not stored", { error: String(error) });
    }
  };

  return {
    count(source: string): void {
      pending.set(source, (pending.get(source) ?? 0) + 1);
    },
    flush,
    start(): void {
      timer ??= setInterval(flush, opts.everyMs ?? 5_000);
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = null;
      flush();
    },
  };
}
