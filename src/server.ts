import { createApp } from "./app.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Config } from "./config/types.ts";
import { createWorker } from "./delivery/worker.ts";
import { createReceiver } from "./ingest/receive.ts";
import { resolveSourceUrls } from "./ingest/source-urls.ts";
import { createLogger, type Logger } from "./log.ts";
import { openStore } from "./store/store.ts";
import { VERSION } from "./version.ts";

export interface RelayOptions {
  clock?: Clock;
  log?: Logger;
  /** Overrides config.server.port (0 picks a free port). */
  port?: number;
  hostname?: string;
  /** Start the delivery worker (default true). */
  deliver?: boolean;
}

export type Relay = Awaited<ReturnType<typeof startRelay>>;

/** Wires config → store → ingest/http → worker, and returns a handle that stops them in reverse. */
export async function startRelay(initial: Config, opts: RelayOptions = {}) {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger();
  let config = initial;
  const store = openStore(config.storage.path);
  let sourceUrls = resolveSourceUrls(config, store, clock.now());

  const worker = createWorker({ store, config: () => config, clock, log });
  const unsubscribe = store.onCommit(() => worker.wake());
  const receive = createReceiver({ store, config: () => config, clock, log });
  const app = createApp({
    log,
    ingest: { config: () => config, sourceUrls: () => sourceUrls, receive },
    health: { pingDatabase: () => store.ping(), startedAt: Date.now(), version: VERSION },
  });

  const maxBody = Math.max(...Object.values(config.sources).map((s) => s.maxBodyBytes), 100 * 1024);
  const server = Bun.serve({
    hostname: opts.hostname ?? config.server.host,
    port: opts.port ?? config.server.port,
    // Per-source limits are checked in ingest; this only stops absurd uploads early.
    maxRequestBodySize: maxBody * 2,
    fetch: (request) => app.handle(request),
  });
  if (opts.deliver !== false) worker.start();
  log.info("relay started", {
    version: VERSION,
    url: `http://${server.hostname}:${server.port}`,
    sources: Object.keys(config.sources),
    destinations: Object.keys(config.destinations),
  });

  return {
    app,
    server,
    store,
    worker,
    get config() {
      return config;
    },
    sourceUrls: () => sourceUrls,
    /** Applies a new valid config: routes, destinations and sources change without a restart. */
    reload(next: Config) {
      config = next;
      sourceUrls = resolveSourceUrls(config, store, clock.now());
      worker.wake();
    },
    async stop(graceMs = 10_000) {
      server.stop();
      await worker.stop(graceMs);
      unsubscribe();
      store.close();
      log.info("relay stopped");
    },
  };
}
