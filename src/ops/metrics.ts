import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import type { DestinationConfig } from "../config/types.ts";
import { Unauthorized } from "../errors.ts";
import type { Settlement } from "../store/types.ts";
import { EXPOSITION_CONTENT_TYPE, labelledCounter, labelledHistogram, renderExposition, type Family } from "./exposition.ts";
import { eventLoopLag, processFamilies } from "./process-metrics.ts";

export type ReceivedOutcome = "accepted" | "duplicate" | "rejected";

const CIRCUIT_STATES = ["closed", "open", "half_open", "paused", "disabled"] as const;
const ATTEMPT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsDeps {
  /** Outbox rows per status, read at each scrape. */
  outboxDepth: () => Promise<Record<string, number>> | Record<string, number>;
  /** Configured destination names and their circuit state, read at each scrape. */
  destinations?: () => string[];
  destinationState?: (name: string) => (typeof CIRCUIT_STATES)[number];
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Prometheus metrics of one Relay instance; every instance counts on its own. */
export function createMetrics(deps: MetricsDeps) {
  const received = labelledCounter(["source", "outcome"]);
  const deliveries = labelledCounter(["destination", "outcome"]);
  const attemptSeconds = labelledHistogram("destination", ATTEMPT_BUCKETS);
  const digestWindows = labelledCounter(["destination"]);

  const families = async (): Promise<Family[]> => {
    const depth = await deps.outboxDepth();
    const all: Family[] = [
      {
        type: "counter",
        name: "relay_events_received_total",
        help: "Inbound webhooks by source and outcome: accepted (stored), duplicate (idempotency key seen), rejected (4xx).",
        samples: received.samples(),
      },
      {
        type: "counter",
        name: "relay_deliveries_total",
        help: "Settled delivery attempts by destination and outcome: delivered, retry (failed, will be retried), dead (failed, out of attempts).",
        samples: deliveries.samples(),
      },
      {
        type: "histogram",
        name: "relay_attempt_duration_seconds",
        help: "Duration of one delivery attempt, request sent to response read (or failure).",
        buckets: attemptSeconds.buckets,
        series: attemptSeconds.series(),
      },
      {
        type: "counter",
        name: "relay_digest_windows_closed_total",
        help: "Digest windows closed into digest deliveries, by destination.",
        samples: digestWindows.samples(),
      },
      {
        type: "gauge",
        name: "relay_outbox_depth",
        help: "Outbox rows by status (pending, in_flight, held_for_digest, dead), counted at scrape time.",
        samples: Object.entries(depth).map(([status, value]) => ({ labels: { status }, value })),
      },
    ];
    if (deps.destinations && deps.destinationState) {
      const { destinationState } = deps;
      // Read at scrape time, so a destination removed by a reload disappears from the scrape.
      all.push({
        type: "gauge",
        name: "relay_destination_circuit",
        help: "1 for the circuit state each destination is in (closed, open, half_open, paused, disabled after failing for days), 0 for the others.",
        samples: deps.destinations().flatMap((destination) => {
          const current = destinationState(destination);
          return CIRCUIT_STATES.map((state) => ({ labels: { destination, state }, value: state === current ? 1 : 0 }));
        }),
      });
    }
    return all;
  };

  return {
    eventReceived(source: string, outcome: ReceivedOutcome): void {
      received.inc([source, outcome]);
    },

    /** Pass as the worker's onSettled. */
    settled(s: Settlement, dest: DestinationConfig): void {
      deliveries.inc([dest.name, s.outcome]);
      attemptSeconds.observe(dest.name, s.attempt.durationMs / 1000);
    },

    /** For the digest scheduler: one window of `destination` was closed. */
    digestClosed(destination: string): void {
      digestWindows.inc([destination]);
    },

    /** The Prometheus text exposition, the process's own figures last (the loop's lag is measured now). */
    async render(): Promise<string> {
      const [own, lag] = await Promise.all([families(), eventLoopLag()]);
      return renderExposition([...own, ...processFamilies(lag)]);
    },

    contentType: EXPOSITION_CONTENT_TYPE,
  };
}

export interface MetricsRouteDeps {
  metrics: Metrics;
  /** Read per request; undefined: /metrics is open. */
  token: () => string | undefined;
}

/** GET /metrics in the Prometheus text format; with server.metrics_token set, it needs that bearer token. */
export function metricsPlugin({ metrics, token }: MetricsRouteDeps) {
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async ({ request }) => {
      const expected = token();
      if (expected) {
        const header = request.headers.get("authorization") ?? "";
        const presented = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : "";
        if (!presented || !sameSecret(presented, expected)) throw new Unauthorized("metrics token required");
      }
      return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
    },
    {
      detail: {
        tags: ["operations"],
        summary: "Prometheus metrics",
        description:
          "Text exposition format 0.0.4. Open unless server.metrics_token is set; then send `Authorization: Bearer <metrics_token>` (401 otherwise).",
        responses: {
          200: { description: "metrics", content: { "text/plain": { schema: { type: "string" } } } },
          401: { description: "missing or wrong metrics token", content: { "application/json": { schema: { type: "object", properties: { error: { type: "string" }, code: { type: "string" } } } } } },
        },
      },
    },
  );
}

// Hashing first gives equal-length inputs, so the compare takes the same time whatever the lengths.
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}
