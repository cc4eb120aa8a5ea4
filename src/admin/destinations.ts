import { Elysia, t } from "elysia";
import { maskUrl } from "../config/describe.ts";
import type { DestinationConfig, RouteConfig } from "../config/types.ts";
import { NotFound } from "../errors.ts";
import { newId } from "../ids.ts";
import type { ClaimedDelivery, DestinationTotals, Settlement } from "../store/types.ts";
import { ErrorSchema, authErrors, iso, maskUrlsIn, type AdminDeps } from "./kit.ts";

/** closed: sending; open: failing, waiting for a probe; half_open: probing; paused: stopped by an admin; disabled: failed for disable_after. */
export type DestinationState = "closed" | "open" | "half_open" | "paused" | "disabled";

export interface AdminDestinationsDeps extends AdminDeps {
  /**
   * One real attempt as the worker makes it (request, signature, send, ack contract → settlement).
   * Injected by the composition root: admin/ does not import delivery/.
   */
  attempt: (dest: DestinationConfig, delivery: ClaimedDelivery) => Promise<Settlement>;
  /** The destination's circuit as the worker sees it; default: always closed. */
  destinationState?: (name: string) => DestinationState;
}

const STATS_WINDOW_MS = 60 * 60 * 1000;
/** Same margin the worker adds to a lease: a test row outlives its attempt even when the receiver hangs to the timeout. */
const LEASE_MARGIN_MS = 30_000;
const TEST_EVENT = "webhook.test";

const Millis = t.Union([t.Integer(), t.Null()]);
const DestinationSchema = t.Object({
  name: t.String(),
  url: t.Union([t.String(), t.Null()], { description: "credentials, query values and fragment masked; null when removed from the config" }),
  state: t.String({
    enum: ["closed", "open", "half_open", "paused", "disabled", "removed"],
    description: "the circuit: closed sends, open waits for a probe, half_open probes, paused by an admin, disabled after failing for disable_after (resume turns it back on); removed: gone from the config but still has deliveries in the store",
  }),
  pending: t.Integer(),
  inFlight: t.Integer(),
  dead: t.Integer(),
  held: t.Integer({ description: "waiting for a digest window" }),
  sent: t.Integer({ description: "deliveries acknowledged in the last hour" }),
  failed: t.Integer({ description: "attempts that failed in the last hour (refused, timed out, not acknowledged)" }),
  lastSentAt: t.Union([t.String(), t.Null()], { description: "last acknowledged delivery, ever" }),
  oldestPendingAt: t.Union([t.String(), t.Null()], { description: "creation time of the pending delivery due first (the head of the line)" }),
  lastError: t.Union([t.String(), t.Null()], { description: "latest error of a delivery still pending or dead" }),
  lastErrorAt: t.Union([t.String(), t.Null()], { description: "when that error happened" }),
  successRate: t.Union([t.Number(), t.Null()], { description: "sent / (sent + failed) over the last hour; null without attempts" }),
  latencyMs: t.Object(
    { p50: Millis, p95: Millis, p99: Millis },
    { description: "nearest-rank percentiles of every attempt's duration in the last hour, failures included" },
  ),
  events: t.Array(t.String(), {
    description: 'event types the destination is subscribed to, from the routes that feed it ("*": every type); empty when no route does',
  }),
  totals: t.Object(
    {
      sent: t.Integer({ description: "acknowledged attempts since the start" }),
      failed: t.Integer({ description: "failed attempts since the start" }),
      lastSentAt: t.Union([t.String(), t.Null()]),
      since: t.Union([t.String(), t.Null()], { description: "the first counted attempt" }),
    },
    { description: "since the start, surviving restarts and retention (test sends included)" },
  ),
});

const TestResultSchema = t.Object({
  deliveryId: t.String({ description: "the recorded delivery (route test-send), with its attempt" }),
  delivered: t.Boolean({ description: "the destination met its acknowledgment contract" }),
  status: t.Union([t.Integer(), t.Null()], { description: "HTTP status; null when no response arrived" }),
  durationMs: t.Integer(),
  response: t.Union([t.String(), t.Null()], { description: "first 1 KB of the response body" }),
  error: t.Union([t.String(), t.Null()], { description: "why it was not delivered" }),
});

/** Admin API per destination: stats, retry every dead delivery, send a test event. */
export function destinationsAdminPlugin(deps: AdminDestinationsDeps) {
  const queries = deps.store.admin;

  const configured = (name: string): DestinationConfig => {
    const dest = deps.config().destinations[name];
    if (!dest) throw new NotFound(`unknown destination "${name}"`);
    return dest;
  };

  return (
    new Elysia({ name: "admin-destinations" })
      .derive(async ({ request }) => ({ admin: await deps.guard.requireAdmin(request) }))
      .get(
        "/api/destinations",
        () => destinationStats(deps),
        {
          response: { 200: t.Object({ since: t.String({ description: "start of the one-hour stats window" }), destinations: t.Array(DestinationSchema) }), ...authErrors },
          detail: {
            tags: ["admin"],
            summary: "Destinations with their stats",
            description:
              "Every configured destination, then every destination removed from the config that still has deliveries in the store (state removed), so nothing waits unseen. Counts are current; sent, failed, success rate and latency cover the last hour, totals everything since the start. events lists the event types the routes send it.",
          },
        },
      )
      .post(
        "/api/destinations/:name/retry-dead",
        async ({ params, admin }) => {
          configured(params.name);
          const retried = await queries.retryDead(params.name, deps.clock.now());
          deps.log.info("dead deliveries retried", { destination: params.name, count: retried, by: admin.kind });
          if (retried > 0) deps.wake();
          return { retried };
        },
        {
          params: t.Object({ name: t.String() }),
          response: { 200: t.Object({ retried: t.Integer({ description: "deliveries put back in line" }) }), 404: ErrorSchema, ...authErrors },
          detail: {
            tags: ["admin"],
            summary: "Retry every dead delivery of a destination",
            description:
              "Each goes back in line, due now, with its attempt history kept and its attempt counter restarted (the whole retry schedule applies again). Deliveries whose transform failed have no body and are left dead: replay their events. 404 when the destination is not configured.",
          },
        },
      )
      .post(
        "/api/destinations/:name/discard-dead",
        async ({ params, admin }) => ({ discarded: await discardDeadOf(deps, params.name, admin.kind) }),
        {
          params: t.Object({ name: t.String() }),
          response: { 200: t.Object({ discarded: t.Integer({ description: "deliveries given up" }) }), 404: ErrorSchema, ...authErrors },
          detail: {
            tags: ["admin"],
            summary: "Discard every dead delivery of a destination",
            description: "Each becomes discarded: kept in the history, never sent again, no longer counted as dead. Works for removed destinations too. 404 when no such destination is configured or stored.",
          },
        },
      )
      .post(
        "/api/destinations/:name/test",
        ({ params, admin }) => sendTest(deps, configured(params.name), admin.kind),
        {
          params: t.Object({ name: t.String() }),
          response: { 200: TestResultSchema, 404: ErrorSchema, ...authErrors },
          detail: {
            tags: ["admin"],
            summary: "Send a test event to a destination",
            description:
              'Sends {"event":"webhook.test","timestamp":"…","data":{"test":true,"timestamp":"…","webhookId":"<destination>","message":"This is a test webhook from Relay"}} (the VAI test webhook\'s shape) now, with the destination\'s headers, signature, timeout and acknowledgment contract, and waits for the answer. It is recorded as a delivery (route test-send) with its attempt; a failed test is discarded at once (never retried, not counted as dead). The call answers 200 either way: delivered tells the outcome.',
          },
        },
      )
  );
}

/** The test webhook as VAI's integration document sends it: the envelope, with the destination as webhookId. */
export function testBody(destination: string, now: number): string {
  const timestamp = iso(now);
  return JSON.stringify({
    event: TEST_EVENT,
    timestamp,
    data: { test: true, timestamp, webhookId: destination, message: "This is a test webhook from Relay" },
  });
}

/** Per destination, the event type patterns of the routes that feed it, in route order; "*" for a route without types. */
export function subscriptions(routes: readonly RouteConfig[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const route of routes) {
    const types = route.when.types.length > 0 ? route.when.types : ["*"];
    for (const name of route.to) {
      const list = out.get(name) ?? [];
      for (const type of types) if (!list.includes(type)) list.push(type);
      out.set(name, list);
    }
  }
  return out;
}

function totalsView(t: DestinationTotals | undefined) {
  if (!t) return { sent: 0, failed: 0, lastSentAt: null, since: null };
  return { sent: t.sent, failed: t.failed, lastSentAt: t.lastSentAt === null ? null : iso(t.lastSentAt), since: iso(t.since) };
}

/** What GET /api/destinations answers; the dashboard's Now view shows the same. */
export async function destinationStats(deps: AdminDestinationsDeps) {
  const queries = deps.store.admin;
  const stateOf = deps.destinationState ?? (() => "closed" as const);
  const now = deps.clock.now();
  const since = now - STATS_WINDOW_MS;
  const destinations = deps.config().destinations;
  const [open, window, stored, totals] = await Promise.all([
    queries.openCounts(),
    queries.attemptWindow(since, now),
    queries.storedDestinations(),
    deps.store.usage.destinations(),
  ]);
  const removed = stored.filter((name) => !destinations[name]);
  const subscribed = subscriptions(deps.config().routes);
  const names = [...Object.keys(destinations), ...removed];
  const facts = await Promise.all(
    names.map(async (name) => {
      const [lastSentAt, lastError, oldestPendingAt] = await Promise.all([
        queries.lastDeliveredAt(name),
        queries.lastError(name, now),
        queries.oldestPending(name),
      ]);
      return { lastSentAt, lastError, oldestPendingAt };
    }),
  );
  return {
    since: iso(since),
    destinations: names.map((name, i) => {
      const dest = destinations[name];
      const counts = open.get(name) ?? { pending: 0, inFlight: 0, dead: 0, held: 0 };
      const w = window.get(name);
      const sent = w?.sent ?? 0;
      const failed = w?.failed ?? 0;
      const { lastSentAt, lastError, oldestPendingAt } = facts[i];
      return {
        name,
        url: dest ? maskUrl(dest.url) : null,
        state: dest ? stateOf(name) : ("removed" as const),
        ...counts,
        sent,
        failed,
        lastSentAt: lastSentAt === null ? null : iso(lastSentAt),
        oldestPendingAt: oldestPendingAt === null ? null : iso(oldestPendingAt),
        lastError: lastError && maskUrlsIn(lastError.error),
        lastErrorAt: lastError && iso(lastError.at),
        successRate: w ? Math.round((sent / (sent + failed)) * 10_000) / 10_000 : null,
        latencyMs: { p50: w?.p50 ?? null, p95: w?.p95 ?? null, p99: w?.p99 ?? null },
        events: subscribed.get(name) ?? [],
        totals: totalsView(totals.get(name)),
      };
    }),
  };
}

/** One test event sent now and recorded as a test-send delivery; a failure is discarded at once. */
export async function sendTest(deps: AdminDestinationsDeps, dest: DestinationConfig, by: string) {
  const queries = deps.store.admin;
  const now = deps.clock.now();
  const delivery: ClaimedDelivery = {
    id: newId("dlv", now),
    eventId: null,
    digestId: null,
    route: "test-send",
    destination: dest.name,
    eventType: TEST_EVENT,
    body: testBody(dest.name, now),
    attempts: 0,
    createdAt: now,
  };
  await queries.insertTestDelivery({
    id: delivery.id,
    destination: dest.name,
    eventType: TEST_EVENT,
    body: delivery.body,
    now,
    leaseUntil: now + dest.timeoutMs + LEASE_MARGIN_MS,
  });
  let settlement: Settlement;
  try {
    settlement = await deps.attempt(dest, delivery);
  } catch (error) {
    const message = String(error);
    settlement = {
      deliveryId: delivery.id,
      destination: dest.name,
      attempt: { startedAt: now, durationMs: 0, statusCode: null, response: null, error: message },
      outcome: "dead",
      error: message,
    };
  }
  // A test is a probe: its failure is reported now, not retried later.
  if (settlement.outcome === "retry") {
    settlement = { deliveryId: delivery.id, destination: dest.name, attempt: settlement.attempt, outcome: "dead", error: settlement.error };
  }
  await deps.store.settle([settlement]);
  const delivered = settlement.outcome === "delivered";
  // A failed probe is reported by this answer; it is not dead traffic anyone must clear.
  if (!delivered) await queries.discardDelivery(delivery.id);
  const { attempt } = settlement;
  deps.log.info("test delivery sent", { delivery: delivery.id, destination: dest.name, delivered, status: attempt.statusCode, by });
  return {
    deliveryId: delivery.id,
    delivered,
    status: attempt.statusCode,
    durationMs: attempt.durationMs,
    response: attempt.response,
    error: delivered ? null : maskUrlsIn(attempt.error ?? (settlement.outcome === "dead" ? settlement.error : null)),
  };
}

/** Every dead delivery of a destination (configured or only stored) discarded; how many (POST …/discard-dead and the dashboard's Discard). */
export async function discardDeadOf(deps: AdminDeps, name: string, by: string): Promise<number> {
  const queries = deps.store.admin;
  const known = deps.config().destinations[name] || (await queries.storedDestinations()).includes(name);
  if (!known) throw new NotFound(`unknown destination "${name}"`);
  const discarded = await queries.discardDead(name);
  deps.log.info("dead deliveries discarded", { destination: name, count: discarded, by });
  return discarded;
}
