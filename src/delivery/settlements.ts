import type { DestinationConfig } from "../config/types.ts";
import type { Logger } from "../log.ts";
import type { ClaimedDelivery, Settlement, Store } from "../store/types.ts";

export interface Finished {
  s: Settlement;
  dest: DestinationConfig;
  d: ClaimedDelivery;
}

export interface SettlementBatcherOptions {
  store: Pick<Store, "settle">;
  log: Logger;
  /** Finished attempts gathered over this long (ms) are written in one transaction. */
  batchMs: number;
  /** Called for each settlement once it is written. */
  onSettled?: (s: Settlement, dest: DestinationConfig) => void;
  /** Told when a batch is written (health). */
  storage?: { succeeded(): void };
  /** Reports a failed write; default log.error (the worker passes one that logs a repeated error once per interval). */
  storeError?: (msg: string, fields: Record<string, unknown>) => void;
}

/** Gathers finished attempts and writes them to the store in batches; logs each once written. */
export function settlementBatcher({ store, log, batchMs, onSettled, storage, storeError }: SettlementBatcherOptions) {
  const reportError = storeError ?? ((msg: string, fields: Record<string, unknown>) => log.error(msg, fields));
  let batch: Finished[] = [];
  let scheduled = false;
  const writing = new Set<Promise<void>>();

  const flush = (): Promise<void> => {
    scheduled = false;
    const written = batch;
    batch = [];
    if (written.length === 0) return Promise.resolve();
    const write = store.settle(written.map((b) => b.s)).then(
      () => {
        storage?.succeeded();
        for (const { s, dest, d } of written) {
          logSettlement(log, s, dest, d);
          onSettled?.(s, dest);
        }
      },
      // The leases will expire and the deliveries be retried: at-least-once holds.
      (error) => reportError("settle failed", { error: String(error), count: written.length }),
    );
    writing.add(write);
    write.finally(() => writing.delete(write));
    return write;
  };

  return {
    add(finished: Finished): void {
      batch.push(finished);
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, batchMs);
      }
    },
    /** Writes what is gathered now. */
    flush,
    /** Resolves once every batch sent so far is written (or failed). */
    async written(): Promise<void> {
      await Promise.allSettled([...writing]);
    },
  };
}

function logSettlement(log: Logger, s: Settlement, dest: DestinationConfig, d: ClaimedDelivery): void {
  const fields = {
    delivery: s.deliveryId,
    event: d.eventId ?? undefined,
    digest: d.digestId ?? undefined,
    attempt: d.attempts + 1,
    destination: dest.name,
    status: s.attempt.statusCode,
    ms: s.attempt.durationMs,
  };
  if (s.outcome === "delivered") log.info("delivered", fields);
  else if (s.outcome === "retry") log.warn("attempt failed", { ...fields, error: s.error, nextAttemptAt: new Date(s.nextAttemptAt).toISOString() });
  else log.error("delivery dead", { ...fields, error: s.error });
}
