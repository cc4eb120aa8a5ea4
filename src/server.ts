import { adminActions } from "./admin/actions.ts";
import { circuitAdminPlugin } from "./admin/circuit.ts";
import { deliveriesAdminPlugin } from "./admin/deliveries.ts";
import { destinationsAdminPlugin, type AdminDestinationsDeps } from "./admin/destinations.ts";
import { eventsAdminPlugin } from "./admin/events.ts";
import { apiKeysAdminPlugin } from "./admin/keys.ts";
import { sourcesAdminPlugin } from "./admin/sources.ts";
import { createApp, edgeHandler, lastResort } from "./app.ts";
import { digestPlugin } from "./digest/plugin.ts";
import { createDigestScheduler } from "./digest/scheduler.ts";
import { createGuard } from "./auth/guard.ts";
import { createApiKeys } from "./auth/keys.ts";
import { createRateLimiter } from "./auth/rate-limit.ts";
import { createSessions } from "./auth/sessions.ts";
import { systemClock, type Clock } from "./clock.ts";
import { MAX_REQUEST_BYTES, type Config } from "./config/types.ts";
import { attemptDelivery } from "./delivery/attempt.ts";
import { createDisabler } from "./delivery/disable.ts";
import { createWorker } from "./delivery/worker.ts";
import { createReceiver } from "./ingest/receive.ts";
import { resolveSourceUrls } from "./ingest/source-urls.ts";
import { createLogger, type Logger } from "./log.ts";
import { healthChecks } from "./ops/health-checks.ts";
import { createMetrics, metricsPlugin } from "./ops/metrics.ts";
import { createSourceUsage } from "./ops/source-usage.ts";
import { createRetention } from "./ops/retention.ts";
import { createStorageHealth } from "./ops/storage-health.ts";
import { connectStore } from "./store/open.ts";
import { uiPlugin } from "./ui/plugin.ts";
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

  const storage = createStorageHealth({
    clock,
    // No free-space floor on PostgreSQL: the database server's disk is not beside this process.
    path: () => (config.storage.postgres ? "" : config.storage.path),
    minFreeBytes: () => config.storage.minFreeBytes ?? 0,
    commitTimeoutMs: () => config.server.commitTimeoutMs ?? 5000,
  });
  const destinationState = (name: string) => (disabler.isDisabled(name) ? "disabled" as const : worker.destinationState(name));
  const metrics = createMetrics({
    outboxDepth: () => store.outboxDepth(),
    destinations: () => Object.keys(config.destinations),
    destinationState,
  });
  const worker = createWorker({ store, config: () => config, clock, log, storage, onSettled: (s, dest) => {
      metrics.settled(s, dest);
      void disabler.settled(s, dest.name);
    } });
  const disabler = createDisabler({ store, config: () => config, clock, log, pause: (name) => worker.pause(name), resume: (name) => worker.resume(name) });
  const retention = createRetention({ store, config: () => config, clock, log });
  const unsubscribe = store.onCommit(() => worker.wake());
  const digests = createDigestScheduler({ store, config: () => config, clock, log, onClosed: (closed) => {
      worker.wake();
      metrics.digestClosed(closed.destination);
    } });
  const receive = createReceiver({ store, config: () => config, clock, log, storage });
  const sourceUsage = createSourceUsage({ store, clock, log });
  const keys = createApiKeys(store);
  const limiter = store.takeRateToken ? { take: store.takeRateToken.bind(store) } : createRateLimiter();
  const guard = createGuard({ keys, limiter, clock, adminToken: () => config.server.adminToken, log });
  const adminDeps = { store, guard, config: () => config, clock, log, wake: () => worker.wake() };
  const destinationDeps: AdminDestinationsDeps = { ...adminDeps, attempt: (dest, d) => attemptDelivery(dest, d, clock, Math.random, config.egress), destinationState };
  // Resuming a disabled destination is the admin action that turns it back on (API and dashboard alike).
  const resumeDestination = (name: string) => (disabler.enable(name), worker.resume(name));
  let lastReload: { at: number; applied: boolean; errors: string[] } | null = null;
  const app = createApp({
    log,
    ingest: {
      config: () => config,
      sourceUrls: () => sourceUrls,
      receive,
      auth: guard,
      // Before a source is known (unknown URL id, bad key) the label is "_unknown", which no source name can be.
      onReceived: (source, outcome) => {
        metrics.eventReceived(source ?? "_unknown", outcome);
        if (source === null) return;
        if (outcome === "accepted") sourceUsage.received(source);
        else if (outcome === "rejected") sourceUsage.rejected(source);
      },
    },
    health: {
      pingDatabase: () => store.ping(),
      checks: healthChecks({
        store,
        storage,
        destinations: () => Object.keys(config.destinations),
        clock,
        instanceWarnings: async () => instanceWarnings(await store.instances(), clock.now()),
      }),
      startedAt: Date.now(),
      version: VERSION,
    },
    plugins: [apiKeysAdminPlugin({ keys, guard, config: () => config, clock, log }),
      digestPlugin(digests, guard.requireAdmin),
      eventsAdminPlugin(adminDeps),
      instancesAdminPlugin({ store, guard, clock }),
      deliveriesAdminPlugin(adminDeps),
      destinationsAdminPlugin(destinationDeps),
      sourcesAdminPlugin({ ...adminDeps, flushUsage: () => sourceUsage.flush() }),
      circuitAdminPlugin({ guard, config: () => config, pause: (name) => worker.pause(name), resume: resumeDestination }),
      metricsPlugin({ metrics, token: () => config.server.metricsToken }),
      uiPlugin({ ...destinationDeps, sessions: createSessions({ clock, store: store.sessions }), keys, admin: adminActions(destinationDeps), pause: (name) => worker.pause(name), resume: resumeDestination,
        flush: (name) => digests.flush(name), digestJobs: () => digests.jobs(), lastReload: () => lastReload })],
  });

  const server = Bun.serve({
    hostname: opts.hostname ?? config.server.host,
    port: opts.port ?? config.server.port,
    // Per-source limits (max_body) are checked in ingest and survive a reload; the edge answers a declared size
    // above MAX_REQUEST_BYTES with JSON 413, and this backstop only stops absurd chunked uploads.
    maxRequestBodySize: 4 * MAX_REQUEST_BYTES,
    // Production: Bun's development error page shows source lines and host paths.
    development: false,
    fetch: edgeHandler(app, MAX_REQUEST_BYTES),
    error: lastResort,
  });
  const heartbeat = startHeartbeat({ store, config: () => config, version: VERSION, startedAt: clock.now(), now: () => clock.now(), log });
  await heartbeat.ready;
  await digests.catchUp();
  digests.start();
  await disabler.start();
  if (opts.deliver !== false) worker.start();
  retention.start();
  sourceUsage.start();
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
      const egressChanged = JSON.stringify(next.egress) !== JSON.stringify(config.egress);
      config = next;
      // Refused attempts wait for a policy change rather than a retry schedule.
      if (egressChanged) {
        const revived = await store.reviveEgressRefused(clock.now());
        if (revived > 0) log.info("egress policy changed: refused deliveries back in line", { count: revived });
      }
      disabler.reload();
      lastReload = { at: clock.now(), applied: true, errors: [] };
      digests.reload();
      sourceUrls = await resolveSourceUrls(config, store, clock.now());
      worker.wake();
      log.info("config reloaded", { file: next.file, sources: Object.keys(next.sources), destinations: Object.keys(next.destinations) });
    },
    /** A rejected edit of relay.yaml, shown on the dashboard's Config page. */
    reloadRejected(errors: string[]) {
      lastReload = { at: clock.now(), applied: false, errors };
    },
    async stop(graceMs = 10_000) {
      server.stop();
      digests.stop();
      disabler.stop();
      heartbeat.stop();
      await retention.stop();
      await worker.stop(graceMs);
      await sourceUsage.stop();
      unsubscribe();
      await store.close();
      log.info("relay stopped");
    },
  };
}
