import { Elysia, t } from "elysia";
import { maskUrl } from "../config/describe.ts";
import type { DestinationConfig } from "../config/types.ts";
import { NotFound } from "../errors.ts";
import { newId } from "../ids.ts";
import type { ClaimedDelivery, Settlement } from "../store/types.ts";
import { ErrorSchema, authErrors, iso, maskUrlsIn, type AdminDeps } from "./deliveries.ts";

/** closed: sending; open: failing, waiting for a probe; half_open: probing; paused: stopped by an admin. */
export type DestinationState = "closed" | "open" | "half_open" | "paused";

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
    enum: ["closed", "open", "half_open", "paused", "removed"],
    description: "the circuit: closed sends, open waits for a probe, half_open probes, paused by an admin; removed: gone from the config but still has deliveries in the store",
  }),
  pending: t.Integer(),
  inFlight: t.Integer(),
  dead: t.Integer(),
  held: t.Integer({ description: "waiting for a digest window" }),
  sent: t.Integer({ description: "deliveries acknowledged in the last hour" }),
  failed: t.Integer({ description: "attempts that failed in the last hour (refused, timed out, not acknowledged)" }),
  lastSentAt: t.Union([t.String(), t.Null()], { description: "last acknowledged delivery, ever" }),
  successRate: t.Union([t.Number(), t.Null()], { description: "sent / (sent + failed) over the last hour; null without attempts" }),
  latencyMs: t.Object(
    { p50: Millis, p95: Millis, p99: Millis },
    { description: "nearest-rank percentiles of every attempt's duration in the last hour, failures included" },
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
  const stateOf = deps.destinationState ?? (() => "closed" as const);

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
        async () => {
          const now = deps.clock.now();
          const since = now - STATS_WINDOW_MS;
          const destinations = deps.config().destinations;
          const open = await queries.openCounts();
          const window = await queries.attemptWindow(since, now);
          const removed = (await queries.storedDestinations()).filter((name) => !destinations[name]);
          const names = [...Object.keys(destinations), ...removed];
          const lastSent = await Promise.all(names.map((name) => queries.lastDeliveredAt(name)));
          return {
            since: iso(since),
            destinations: names.map((name, i) => {
              const dest = destinations[name];
              const counts = open.get(name) ?? { pending: 0, inFlight: 0, dead: 0, held: 0 };
              const w = window.get(name);
              const sent = w?.sent ?? 0;
              const failed = w?.failed ?? 0;
              const lastSentAt = lastSent[i];
              return {
                name,
                url: dest ? maskUrl(dest.url) : null,
                state: dest ? stateOf(name) : ("removed" as const),
                ...counts,
                sent,
                failed,
                lastSentAt: lastSentAt === null ? null : iso(lastSentAt),
                successRate: w ? Math.round((sent / (sent + failed)) * 10_000) / 10_000 : null,
                latencyMs: { p50: w?.p50 ?? null, p95: w?.p95 ?? null, p99: w?.p99 ?? null },
              };
            }),
          };
        },
        {
          response: { 200: t.Object({ since: t.String({ description: "start of the one-hour stats window" }), destinations: t.Array(DestinationSchema) }), ...authErrors },
          detail: {
            tags: ["admin"],
            summary: "Destinations with their stats",
            description:
              "Every configured destination, then every destination removed from the config that still has deliveries in the store (state removed), so nothing waits unseen. Counts are current; sent, failed, success rate and latency cover the last hour.",
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
        "/api/destinations/:name/test",
        async ({ params, admin }) => {
          const dest = configured(params.name);
          const now = deps.clock.now();
          const delivery: ClaimedDelivery = {
            id: newId("dlv", now),
            eventId: null,
            digestId: null,
            route: "test-send",
            destination: dest.name,
            eventType: TEST_EVENT,
            body: JSON.stringify({ event: TEST_EVENT, timestamp: iso(now), data: { message: "Test delivery from Relay" } }),
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
              attempt: { startedAt: now, durationMs: 0, statusCode: null, response: null, error: message },
              outcome: "dead",
              error: message,
            };
          }
          // A test is a probe: its failure is reported now, not retried later.
          if (settlement.outcome === "retry") settlement = { deliveryId: delivery.id, attempt: settlement.attempt, outcome: "dead", error: settlement.error };
          await deps.store.settle([settlement]);
          const delivered = settlement.outcome === "delivered";
          const { attempt } = settlement;
          deps.log.info("test delivery sent", { delivery: delivery.id, destination: dest.name, delivered, status: attempt.statusCode, by: admin.kind });
          return {
            deliveryId: delivery.id,
            delivered,
            status: attempt.statusCode,
            durationMs: attempt.durationMs,
            response: attempt.response,
            error: delivered ? null : maskUrlsIn(attempt.error ?? (settlement.outcome === "dead" ? settlement.error : null)),
          };
        },
        {
          params: t.Object({ name: t.String() }),
          response: { 200: TestResultSchema, 404: ErrorSchema, ...authErrors },
          detail: {
            tags: ["admin"],
            summary: "Send a test event to a destination",
            description:
              'Sends {"event":"webhook.test","timestamp":"…","data":{"message":"Test delivery from Relay"}} now, with the destination\'s headers, signature, timeout and acknowledgment contract, and waits for the answer. It is recorded as a delivery (route test-send) with its attempt; a failed test is dead at once, never retried. The call answers 200 either way: delivered tells the outcome.',
          },
        },
      )
  );
}
