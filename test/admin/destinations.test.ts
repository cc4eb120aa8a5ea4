import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { maskUrlsIn } from "../../src/admin/kit.ts";
import { T0 } from "../support/harness.ts";
import { ADMIN_YAML, admin, get, ingest, startRig, type AdminRig } from "./support.ts";

let rig: AdminRig;
afterEach(async () => {
  await rig.stop();
});

const HOUR = 3_600_000;
const byName = async () => Object.fromEntries((await get(rig.h, "/api/destinations")).destinations.map((d: any) => [d.name, d]));

/** Nearest rank, as the API documents it. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1];
}

async function historyOf(eventIds: string[], destination: string) {
  const attempts: Array<{ durationMs: number; statusCode: number }> = [];
  const deliveredAt: string[] = [];
  for (const id of eventIds) {
    for (const d of (await get(rig.h, `/api/events/${id}`)).deliveries) {
      if (d.destination !== destination) continue;
      attempts.push(...d.history);
      if (d.deliveredAt) deliveredAt.push(d.deliveredAt);
    }
  }
  return { durations: attempts.map((a) => a.durationMs), lastDeliveredAt: deliveredAt.sort().at(-1) ?? null };
}

describe("GET /api/destinations", () => {
  test("sent, failed, success rate and latency of the last hour match what happened", async () => {
    rig = await startRig({
      flaky: () => new Response("nope", { status: 503 }),
      // Two clearly different latencies, so the median and the tail differ.
      steady: async (_, i) => (await Bun.sleep(i === 0 ? 0 : 200), new Response("ok")),
    });
    const events = [await ingest(rig.h, "crm-url-id", { type: "lead", n: 1 }), await ingest(rig.h, "crm-url-id", { type: "lead", n: 2 })];
    await rig.h.relay.worker.runOnce();
    rig.h.clock.advance(1_500);
    await rig.h.relay.worker.runOnce();
    rig.flaky.respondWith(() => new Response("ok"));
    rig.h.clock.advance(10_000);
    await rig.h.call("POST", "/api/destinations/flaky/retry-dead", { headers: admin });
    await rig.h.relay.worker.runOnce();

    const res = await rig.h.call("GET", "/api/destinations", { headers: admin });
    expect(res.status).toBe(200);
    expect(res.json.since).toBe(new Date(rig.h.clock.now() - HOUR).toISOString());
    expect(res.json.destinations.map((d: any) => d.name)).toEqual(["flaky", "steady", "crm", "daily", "unrouted"]);
    const stats = Object.fromEntries(res.json.destinations.map((d: any) => [d.name, d]));

    const flaky = await historyOf(events, "flaky");
    expect(flaky.durations).toHaveLength(6);
    expect(stats.flaky).toEqual({
      name: "flaky",
      url: rig.env.FLAKY_URL,
      state: "closed",
      pending: 0,
      inFlight: 0,
      dead: 0,
      held: 0,
      sent: 2,
      failed: 4,
      lastSentAt: flaky.lastDeliveredAt,
      oldestPendingAt: null,
      lastError: null,
      lastErrorAt: null,
      successRate: 0.3333,
      latencyMs: { p50: percentile(flaky.durations, 50), p95: percentile(flaky.durations, 95), p99: percentile(flaky.durations, 99) },
      events: ["*"],
      totals: { sent: 2, failed: 4, lastSentAt: flaky.lastDeliveredAt, since: new Date(T0).toISOString() },
    });

    const steady = await historyOf(events, "steady");
    expect(stats.steady).toMatchObject({ sent: 2, failed: 0, successRate: 1, lastSentAt: steady.lastDeliveredAt });
    expect(stats.steady.latencyMs.p95).toBeGreaterThanOrEqual(200);
    expect(stats.steady.latencyMs.p95 - stats.steady.latencyMs.p50).toBeGreaterThanOrEqual(100);
    expect(stats.steady.latencyMs).toEqual({ p50: percentile(steady.durations, 50), p95: percentile(steady.durations, 95), p99: percentile(steady.durations, 99) });

    expect(stats.crm).toMatchObject({ sent: 0, failed: 0, lastSentAt: null, successRate: null, latencyMs: { p50: null, p95: null, p99: null } });

    // Two hours on, the window is empty but the last delivery is remembered.
    rig.h.clock.advance(2 * HOUR);
    const later = await byName();
    expect(later.flaky).toMatchObject({ sent: 0, failed: 0, successRate: null, latencyMs: { p50: null, p95: null, p99: null }, lastSentAt: flaky.lastDeliveredAt });
    // Totals are since the start, not the window.
    expect(later.flaky.totals).toMatchObject({ sent: 2, failed: 4 });
  });

  test("pending, in flight, dead and held are current counts", async () => {
    rig = await startRig();
    await ingest(rig.h, "crm-url-id", { type: "digest.me" });
    await ingest(rig.h, "shop-url-id", { type: "broken" });
    await rig.h.relay.store.claim("flaky", 1, rig.h.clock.now(), 60_000);
    const stats = await byName();
    expect(stats.flaky).toMatchObject({ pending: 1, inFlight: 1, dead: 0, held: 0 });
    expect(stats.steady).toMatchObject({ pending: 2, inFlight: 0, dead: 1, held: 0 });
    expect(stats.daily).toMatchObject({ pending: 0, inFlight: 0, dead: 0, held: 1 });
  });

  test("a destination removed from the config is still reported with what it has in the store", async () => {
    rig = await startRig({ flaky: () => new Response("nope", { status: 500 }) });
    await ingest(rig.h, "crm-url-id", { type: "lead", n: 1 });
    await rig.h.relay.worker.runOnce();
    rig.h.clock.advance(1_500);
    await rig.h.relay.worker.runOnce();
    await ingest(rig.h, "crm-url-id", { type: "lead", n: 2 });
    await ingest(rig.h, "crm-url-id", { type: "lead", n: 3 });

    const withoutFlaky = ADMIN_YAML.replace(/ {2}flaky:\n(?: {4}.*\n)+/, "").replace("to: [flaky, steady]", "to: [steady]");
    expect(withoutFlaky).not.toContain("flaky");
    rig.h.relay.reload(rig.configFrom(withoutFlaky));
    await rig.h.relay.worker.runOnce();

    const res = await rig.h.call("GET", "/api/destinations", { headers: admin });
    const names = res.json.destinations.map((d: any) => d.name);
    expect(names).toEqual(["steady", "crm", "daily", "unrouted", "flaky"]);
    expect(res.json.destinations.at(-1)).toMatchObject({ name: "flaky", url: null, state: "removed", pending: 2, dead: 1, inFlight: 0, held: 0, failed: 2, sent: 0 });
    expect(res.text).not.toContain(rig.flaky.url);
    const flaky = res.json.destinations.at(-1);
    const pending = (await get(rig.h, "/api/deliveries?status=pending&destination=flaky")).deliveries;
    expect(flaky.oldestPendingAt).toBe(pending.map((d: any) => d.createdAt).sort()[0]);
    const [deadOne] = (await get(rig.h, "/api/deliveries?status=dead&destination=flaky")).deliveries;
    const history = (await get(rig.h, `/api/events/${deadOne.eventId}`)).deliveries.find((d: any) => d.id === deadOne.id).history;
    expect(flaky.lastError).toBe(deadOne.lastError);
    expect(flaky.lastError).toContain("500");
    expect(flaky.lastErrorAt).toBe(history.at(-1).startedAt);

    const [dead] = (await get(rig.h, "/api/deliveries?status=dead&destination=flaky")).deliveries;
    const retry = await rig.h.call("POST", `/api/deliveries/${dead.id}/retry`, { headers: admin });
    expect(retry.status).toBe(409);
    expect(retry.json).toEqual({ error: 'destination "flaky" is no longer configured', code: "conflict" });
    expect((await rig.h.call("POST", "/api/destinations/flaky/retry-dead", { headers: admin })).status).toBe(404);
  });

  test("URLs are shown with credentials and query values masked, in responses and logs", async () => {
    rig = await startRig({}, { steady: (base) => `${base.replace("http://", "http://ops:s3cret-pw@")}/hook?token=tok-123&v=2` });
    const id = await ingest(rig.h, "crm-url-id", { type: "lead" });
    await rig.h.relay.worker.runOnce();
    const res = await rig.h.call("GET", "/api/destinations", { headers: admin });
    const port = new URL(rig.steady.url).port;
    expect(res.json.destinations.find((d: any) => d.name === "steady").url).toBe(`http://***@127.0.0.1:${port}/hook?token=***&v=***`);
    const test = await rig.h.call("POST", "/api/destinations/steady/test", { headers: admin });
    expect(test.json.delivered).toBe(true);
    expect(rig.steady.received.map((r) => r.path)).toEqual(["/hook", "/hook"]);

    const texts = [res.text, test.text, (await rig.h.call("GET", `/api/events/${id}`, { headers: admin })).text, (await rig.h.call("GET", "/api/deliveries", { headers: admin })).text, ...rig.h.lines];
    for (const text of texts) {
      expect(text).not.toContain("s3cret-pw");
      expect(text).not.toContain("tok-123");
    }
  });

  test("error texts have URL credentials masked", () => {
    expect(maskUrlsIn('fetch http://u:pw@h.test/x?key=k1 failed; "https://h2.test/y?sig=abc"')).toBe('fetch http://***@h.test/x?key=*** failed; "https://h2.test/y?sig=***"');
    expect(maskUrlsIn(null)).toBeNull();
  });
});

describe("destination state", () => {
  test("a paused destination is reported paused, and closed again after resume", async () => {
    rig = await startRig({});
    expect((await byName()).crm.state).toBe("closed");
    expect((await rig.h.call("POST", "/api/destinations/crm/pause", { headers: admin })).status).toBe(200);
    expect((await byName()).crm.state).toBe("paused");
    await rig.h.call("POST", "/api/destinations/crm/resume", { headers: admin });
    expect((await byName()).crm.state).toBe("closed");
  });
});

describe("POST /api/destinations/:name/test", () => {
  test("goes through the real path: headers, signature and the acknowledgment contract", async () => {
    rig = await startRig({ crm: () => new Response('{"status":"ok"}') });
    const wrong = await rig.h.call("POST", "/api/destinations/crm/test", { headers: admin });
    expect(wrong.status).toBe(200);
    expect(wrong.json).toEqual({
      deliveryId: expect.stringMatching(/^dlv_/),
      delivered: false,
      status: 200,
      durationMs: expect.any(Number),
      response: '{"status":"ok"}',
      error: 'response body "{\\"status\\":\\"ok\\"}" is not an expected acknowledgment',
    });
    const got = rig.crm.received[0];
    expect(got.path).toBe("/leads");
    const at = new Date(T0).toISOString();
    expect(JSON.parse(got.body)).toEqual({
      event: "webhook.test",
      timestamp: at,
      data: { test: true, timestamp: at, webhookId: "crm", message: "This is a test webhook from Relay" },
    });
    expect(got.headers["x-relay-event-type"]).toBe("webhook.test");
    expect(got.headers["x-relay-delivery-id"]).toBe(wrong.json.deliveryId);
    expect(got.headers["x-aficial-signature"]).toBe(`sha256=${createHmac("sha256", "crm-signing-secret-1").update(got.body).digest("hex")}`);

    rig.crm.respondWith(() => new Response('{"status":"success"}'));
    rig.h.clock.advance(1000);
    const right = await rig.h.call("POST", "/api/destinations/crm/test", { headers: admin });
    expect(right.json).toMatchObject({ delivered: true, status: 200, response: '{"status":"success"}', error: null });

    const recorded = (await get(rig.h, "/api/deliveries?destination=crm")).deliveries;
    expect(recorded).toMatchObject([
      { id: right.json.deliveryId, route: "test-send", eventType: "webhook.test", eventId: null, status: "delivered", attempts: 1, deliveredAt: expect.any(String) },
      { id: wrong.json.deliveryId, route: "test-send", eventType: "webhook.test", eventId: null, status: "discarded", attempts: 1, lastError: wrong.json.error },
    ]);
    expect((await byName()).crm).toMatchObject({ sent: 1, failed: 1, successRate: 0.5, dead: 0, pending: 0, inFlight: 0 });

    // A failed test is reported, never retried by the worker.
    rig.h.clock.advance(HOUR / 2);
    await rig.h.relay.worker.runOnce();
    expect(rig.crm.received).toHaveLength(2);
  });

  test("a receiver that does not answer: delivered false with the reason", async () => {
    rig = await startRig();
    rig.crm.stop();
    const res = await rig.h.call("POST", "/api/destinations/crm/test", { headers: admin });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ delivered: false, status: null, response: null });
    expect(res.json.error).toContain("ECONNREFUSED");
  });

  test("404 for an unknown destination", async () => {
    rig = await startRig();
    const res = await rig.h.call("POST", "/api/destinations/nowhere/test", { headers: admin });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'unknown destination "nowhere"', code: "not_found" });
  });
});
