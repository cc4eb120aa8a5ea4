import { circuitAdminPlugin } from "./admin/circuit.ts";
import { deliveriesAdminPlugin } from "./admin/deliveries.ts";
import { destinationsAdminPlugin } from "./admin/destinations.ts";
import { eventsAdminPlugin } from "./admin/events.ts";
import { apiKeysAdminPlugin } from "./admin/keys.ts";
import { createApp } from "./app.ts";
import { digestPlugin } from "./digest/plugin.ts";
import { createDigestScheduler } from "./digest/scheduler.ts";
import { createGuard } from "./auth/guard.ts";
import { createApiKeys } from "./auth/keys.ts";
import { createRateLimiter } from "./auth/rate-limit.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Config } from "./config/types.ts";
import { attemptDelivery } from "./delivery/attempt.ts";
import { createWorker } from "./delivery/worker.ts";
import { createReceiver } from "./ingest/receive.ts";
import { resolveSourceUrls } from "./ingest/source-urls.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMetrics, metricsPlugin } from "./ops/metrics.ts";
import { createRetention } from "./ops/retention.ts";
import { connectStore } from "./store/open.ts";
import { VERSION } from "./version.ts";
import { instancesAdminPlugin, instanceWarnings } from "./admin/instances.ts";
import { startHeartbeat } from "./ops/instances.ts";
import { hostname } from "node:os";

export interface RelayOptions {
  clock?: Clock;
  log?: Logger;
  /** Overrides config.server.port (0 picks a free port). */
  port?: number;
  hostname?: string;
  /** Start the delivery worker (default true). */
  deliver?: boolean;
  /** PostgreSQL lease owner name; default $RELAY_INSTANCE_ID, else host:port (stable across restarts). */
  instanceId?: string;
}

const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export type Relay = Awaited<ReturnType<typeof startRelay>>;

/** Wires config → store → ingest/http → worker, and returns a handle that stops them in reverse. */
export async function startRelay(initial: Config, opts: RelayOptions = {}) {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger();
  let config = initial;
  // host:port names the same instance after a restart; a port picked at random (0) does not, so it gets a random name.
  const port = opts.port ?? config.server.port;
  const instanceId = opts.instanceId ?? process.env.RELAY_INSTANCE_ID ?? (port === 0 ? undefined : `${hostname()}:${port}`);
  const store = await connectStore(config.storage, { instanceId });
  let sourceUrls = await resolveSourceUrls(config, store, clock.now());

  const metrics = createMetrics({
    outboxDepth: () => store.outboxDepth(),
    destinations: () => Object.keys(config.destinations),
    destinationState: (name) => worker.destinationState(name),
  });
  const worker = createWorker({ store, config: () => config, clock, log, onSettled: (s, dest) => metrics.settled(s, dest) });
  const retention = createRetention({ store, config: () => config, clock, log });
  const unsubscribe = store.onCommit(() => worker.wake());
  const digests = createDigestScheduler({ store, config: () => config, clock, log, onClosed: (closed) => {
      worker.wake();
      metrics.digestClosed(closed.destination);
    } });
  const receive = createReceiver({ store, config: () => config, clock, log });
  const keys = createApiKeys(store);
  const limiter = store.takeRateToken ? { take: store.takeRateToken.bind(store) } : createRateLimiter();
  const guard = createGuard({ keys, limiter, clock, adminToken: () => config.server.adminToken, log });
  const adminDeps = { store, guard, config: () => config, clock, log, wake: () => worker.wake() };
  const app = createApp({
    log,
    ingest: {
      config: () => config,
      sourceUrls: () => sourceUrls,
      receive,
      auth: guard,
      // Before a source is known (unknown URL id, bad key) the label is "_unknown", which no source name can be.
      onReceived: (source, outcome) => metrics.eventReceived(source ?? "_unknown", outcome),
    },
    health: {
      pingDatabase: () => store.ping(),
      warnings: async () => instanceWarnings(await store.instances(), clock.now()),
      startedAt: Date.now(),
      version: VERSION,
    },
    plugins: [apiKeysAdminPlugin({ keys, guard, config: () => config, clock, log }),
      digestPlugin(digests, guard.requireAdmin),
      eventsAdminPlugin(adminDeps),
      instancesAdminPlugin({ store, guard, clock }),
      deliveriesAdminPlugin(adminDeps),
      destinationsAdminPlugin({ ...adminDeps, attempt: (dest, d) => attemptDelivery(dest, d, clock), destinationState: (name) => worker.destinationState(name) }),
      circuitAdminPlugin({ guard, config: () => config, pause: (name) => worker.pause(name), resume: (name) => worker.resume(name) }),
      metricsPlugin({ metrics, token: () => config.server.metricsToken })],
  });

  const server = Bun.serve({
    hostname: opts.hostname ?? config.server.host,
    port: opts.port ?? config.server.port,
    // Per-source limits (max_body) are checked in ingest and survive a reload; this only stops absurd uploads.
    maxRequestBodySize: MAX_REQUEST_BYTES,
    fetch: (request) => app.handle(request),
  });
  const heartbeat = startHeartbeat({ store, config: () => config, version: VERSION, startedAt: clock.now(), now: () => clock.now(), log });
  await heartbeat.ready;
  await digests.catchUp();
  digests.start();
  if (opts.deliver !== false) worker.start();
  retention.start();
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
    digests,
    metrics,
    retention,
    get config() {
      return config;
    },
    sourceUrls: () => sourceUrls,
    /** Applies a new valid config: routes, destinations and sources change without a restart. */
    async reload(next: Config) {
      if (next.storage.path !== config.storage.path || next.storage.postgres?.url !== config.storage.postgres?.url || next.server.port !== config.server.port || next.server.host !== config.server.host) {
        log.warn("storage and server settings apply at the next restart", { file: next.file });
      }
      config = next;
      digests.reload();
      sourceUrls = await resolveSourceUrls(config, store, clock.now());
      worker.wake();
      log.info("config reloaded", { file: next.file, sources: Object.keys(next.sources), destinations: Object.keys(next.destinations) });
    },
    async stop(graceMs = 10_000) {
      server.stop();
      digests.stop();
      heartbeat.stop();
      await retention.stop();
      await worker.stop(graceMs);
      unsubscribe();
      await store.close();
      log.info("relay stopped");
    },
  };
}
