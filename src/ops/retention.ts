import { Cron } from "croner";
import type { Clock } from "../clock.ts";
import type { Config } from "../config/types.ts";
import { idFloor } from "../ids.ts";
import type { Logger } from "../log.ts";
import { RETENTION_START } from "../store/retention.ts";
import type { Store } from "../store/types.ts";

export interface RetentionOptions {
  store: Store;
  /** Read at each run, so a reloaded storage.retention applies to the next purge. */
  config: () => Config;
  clock: Clock;
  log: Logger;
  /** Events looked at per write transaction. Default 1000. */
  batchSize?: number;
  /** When the purge runs. Default hourly, at half past. */
  cron?: string;
}

export interface PurgeResult {
  events: number;
  deliveries: number;
  attempts: number;
}

export type Retention = ReturnType<typeof createRetention>;

/** Purges finished events older than storage.retention, in short transactions, on an hourly job. */
export function createRetention(opts: RetentionOptions) {
  const { clock, log } = opts;
  const batchSize = opts.batchSize ?? 1000;
  let job: Cron | null = null;
  let running: Promise<PurgeResult> | null = null;
  let stopping = false;

  /** Deletes every finished event received before `now - retention`; resolves with what went. */
  async function purge(now: number = clock.now()): Promise<PurgeResult> {
    const cutoff = now - opts.config().storage.retentionMs;
    // Ids begin with their receive time: the events received before the cutoff are the ids below this one.
    const cutoffId = idFloor("evt", cutoff);
    const total: PurgeResult = { events: 0, deliveries: 0, attempts: 0 };
    let cursor = RETENTION_START;
    while (!stopping) {
      // Each batch waits its turn on the database writer, so ingest commits sent meanwhile go between batches.
      const batch = await opts.store.purgeBatch(cutoffId, cursor, batchSize);
      total.events += batch.events;
      total.deliveries += batch.deliveries;
      total.attempts += batch.attempts;
      if (batch.scanned < batchSize) break;
      cursor = batch.cursor;
    }
    if (total.events > 0) log.info("retention purge", { ...total, before: new Date(cutoff).toISOString() });
    return total;
  }

  const run = () => {
    if (running) return running;
    running = purge()
      .catch((error) => {
        log.error("retention purge failed", { error: String(error) });
        return { events: 0, deliveries: 0, attempts: 0 };
      })
      .finally(() => {
        running = null;
      });
    return running;
  };

  return {
    purge,

    start(): void {
      if (job) return;
      stopping = false;
      // Half past, away from the top of the hour where digest windows usually close.
      job = new Cron(opts.cron ?? "30 * * * *", { protect: true }, () => void run());
    },

    /** Stops the job and waits for a running purge to finish its current batch. */
    async stop(): Promise<void> {
      job?.stop();
      job = null;
      stopping = true;
      await running;
    },

    /** Next scheduled run (epoch ms), null when stopped. */
    nextRunAt(): number | null {
      return job?.nextRun()?.getTime() ?? null;
    },
  };
}
