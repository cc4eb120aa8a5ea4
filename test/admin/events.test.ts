import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { T0 } from "../support/harness.ts";
import { ADMIN_YAML, admin, get, ingest, startRig, type AdminRig } from "./support.ts";

let rig: AdminRig;
afterEach(async () => {
  await rig.stop();
});

const MINUTE = 60_000;
const ids = (page: { events: Array<{ id: string }> }) => page.events.map((e) => e.id);

describe("GET /api/events", () => {
  let e: string[];
  beforeEach(async () => {
    rig = await startRig();
    const bodies: Array<[string, unknown]> = [
      ["shop-url-id", { type: "order", note: "100% sure" }],
      ["crm-url-id", { type: "lead", note: "100 percent" }],
      ["shop-url-id", { type: "order", note: "a_b" }],
      ["crm-url-id", { type: "lead", note: "axb" }],
      ["shop-url-id", { type: "broken" }],
    ];
    e = [];
    for (const [source, body] of bodies) {
      e.push(await ingest(rig.h, source, body));
      rig.h.clock.advance(MINUTE);
    }
  });

  test("newest first, with delivery counts per status", async () => {
    const page = await get(rig.h, "/api/events");
    expect(ids(page)).toEqual([...e].reverse());
    expect(page.nextCursor).toBeNull();
    expect(page.events[4]).toEqual({
      id: e[0],
      source: "shop",
      type: "order",
      receivedAt: new Date(T0).toISOString(),
      deliveries: { pending: 2 },
    });
    expect(page.events[0].deliveries).toEqual({ pending: 2, dead: 1 });
  });

  test("source, type and delivery status filters combine", async () => {
    expect(ids(await get(rig.h, "/api/events?source=shop"))).toEqual([e[4], e[2], e[0]]);
    expect(ids(await get(rig.h, "/api/events?type=lead"))).toEqual([e[3], e[1]]);
    expect(ids(await get(rig.h, "/api/events?source=shop&type=order"))).toEqual([e[2], e[0]]);
    expect(ids(await get(rig.h, "/api/events?status=dead"))).toEqual([e[4]]);
    expect(ids(await get(rig.h, "/api/events?status=delivered"))).toEqual([]);
    expect(ids(await get(rig.h, "/api/events?source=crm&status=dead"))).toEqual([]);
  });

  test("since (inclusive) and until (exclusive) take ISO-8601 or epoch milliseconds", async () => {
    const at = (n: number) => T0 + n * MINUTE;
    expect(ids(await get(rig.h, `/api/events?since=${new Date(at(3)).toISOString()}`))).toEqual([e[4], e[3]]);
    expect(ids(await get(rig.h, `/api/events?until=${at(2)}`))).toEqual([e[1], e[0]]);
    expect(ids(await get(rig.h, `/api/events?since=${at(1)}&until=${encodeURIComponent(new Date(at(3)).toISOString())}`))).toEqual([e[2], e[1]]);
    const bad = await rig.h.call("GET", "/api/events?since=yesterday-ish", { headers: admin });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: "since: expected an ISO-8601 time or epoch milliseconds", code: "bad_request" });
  });

  test("body search takes % and _ literally", async () => {
    expect(ids(await get(rig.h, `/api/events?q=${encodeURIComponent("100%")}`))).toEqual([e[0]]);
    expect(ids(await get(rig.h, "/api/events?q=a_b"))).toEqual([e[2]]);
    expect(ids(await get(rig.h, "/api/events?q=100"))).toEqual([e[1], e[0]]);
    expect(ids(await get(rig.h, "/api/events?q=PERCENT"))).toEqual([e[1]]);
  });

  test("a body search says how far back it read (searchedUntil); a listing without q does not", async () => {
    const at = (n: number) => new Date(T0 + n * MINUTE).toISOString();
    expect(await get(rig.h, "/api/events?q=no-such-text")).toEqual({ events: [], nextCursor: null, searchedUntil: at(0) });
    const page = await get(rig.h, "/api/events?q=100&limit=1");
    expect([ids(page), page.nextCursor, page.searchedUntil]).toEqual([[e[1]], e[1], at(1)]);
    expect((await get(rig.h, `/api/events?q=no-such-text&since=${at(3)}`)).searchedUntil).toBe(at(3));
    expect((await get(rig.h, "/api/events")).searchedUntil).toBeNull();
  });

  test("cursor pagination walks every event once, filtered or not", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page: any = await get(rig.h, `/api/events?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      sizes.push(page.events.length);
      seen.push(...ids(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...e].reverse());

    const first = await get(rig.h, "/api/events?source=shop&limit=2");
    expect(ids(first)).toEqual([e[4], e[2]]);
    expect(first.nextCursor).toBe(e[2]);
    const second = await get(rig.h, `/api/events?source=shop&limit=2&cursor=${first.nextCursor}`);
    expect(ids(second)).toEqual([e[0]]);
    expect(second.nextCursor).toBeNull();
  });

  test("limit is 1..500 and status must be a delivery status", async () => {
    for (const q of ["limit=0", "limit=501", "limit=2.5", "limit=ten"]) {
      const res = await rig.h.call("GET", `/api/events?${q}`, { headers: admin });
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ error: "limit: expected a whole number from 1 to 500", code: "bad_request" });
    }
    const res = await rig.h.call("GET", "/api/events?status=lost", { headers: admin });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: expect.stringContaining('unknown status "lost"'), code: "bad_request" });
  });

  test("the default page is 50", async () => {
    for (let i = 0; i < 46; i++) await ingest(rig.h, "crm-url-id", { type: "bulk", i });
    const page = await get(rig.h, "/api/events");
    expect(page.events).toHaveLength(50);
    expect(page.nextCursor).toBe(page.events[49].id);
    expect(ids(await get(rig.h, `/api/events?cursor=${page.nextCursor}`))).toEqual([e[0]]);
  });
});

describe("GET /api/events/:id", () => {
  test("the body, headers, every delivery with its body and every attempt", async () => {
    rig = await startRig({ flaky: () => new Response("nope", { status: 500 }), steady: () => new Response("thanks") });
    const sent = { type: "lead", name: "Zoë", total: 12.5 };
    const id = await ingest(rig.h, "crm-url-id", sent, { "x-trace": "t-1", authorization: "Bearer not-stored" });
    await rig.h.relay.worker.runOnce();

    const event = await get(rig.h, `/api/events/${id}`);
    expect(event).toMatchObject({ id, source: "crm", type: "lead", receivedAt: new Date(T0).toISOString(), idempotencyKey: null, body: sent, bodyIsJson: true });
    expect(event.headers["x-trace"]).toBe("t-1");
    expect(event.headers.authorization).toBe("[redacted]");

    const byDest = Object.fromEntries(event.deliveries.map((d: any) => [d.destination, d]));
    const envelope = JSON.stringify({ event: "lead", timestamp: new Date(T0).toISOString(), data: sent });
    expect(byDest.steady).toMatchObject({ route: "everything", eventId: id, status: "delivered", attempts: 1, body: envelope, nextAttemptAt: null, lastError: null });
    expect(byDest.steady.deliveredAt).toBe(new Date(T0 + byDest.steady.history[0].durationMs).toISOString());
    expect(byDest.steady.history).toEqual([
      { startedAt: new Date(T0).toISOString(), durationMs: expect.any(Number), statusCode: 200, response: "thanks", error: null },
    ]);
    expect(byDest.flaky).toMatchObject({ status: "pending", attempts: 1, lastError: "status 500 is not an acknowledgment" });
    expect(Date.parse(byDest.flaky.nextAttemptAt)).toBeGreaterThanOrEqual(T0 + 1000);
    expect(byDest.flaky.history).toEqual([
      { startedAt: new Date(T0).toISOString(), durationMs: expect.any(Number), statusCode: 500, response: "nope", error: "status 500 is not an acknowledgment" },
    ]);
    expect(rig.steady.received[0].body).toBe(envelope);
  });

  test("404 for an unknown event", async () => {
    rig = await startRig();
    const res = await rig.h.call("GET", "/api/events/evt_nope", { headers: admin });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: "unknown event", code: "not_found" });
  });
});

describe("POST /api/events/:id/replay", () => {
  test("to one destination: one new delivery, the earlier ones kept, sent again", async () => {
    rig = await startRig();
    const id = await ingest(rig.h, "crm-url-id", { type: "lead", n: 1 });
    await rig.h.relay.worker.runOnce();
    const before = await get(rig.h, `/api/events/${id}`);
    expect(before.deliveries.map((d: any) => d.status)).toEqual(["delivered", "delivered"]);

    rig.h.clock.advance(5 * MINUTE);
    const res = await rig.h.call("POST", `/api/events/${id}/replay`, { headers: admin, body: { destination: "steady" } });
    expect(res.status).toBe(201);
    expect(res.json.eventId).toBe(id);
    expect(res.json.deliveries).toHaveLength(1);
    const replayed = res.json.deliveries[0];
    expect(replayed).toMatchObject({ destination: "steady", route: "everything", status: "pending", attempts: 0, eventId: id });
    expect(replayed.createdAt).toBe(new Date(T0 + 5 * MINUTE).toISOString());
    expect(before.deliveries.map((d: any) => d.id)).not.toContain(replayed.id);

    const after = await get(rig.h, `/api/events/${id}`);
    expect(after.deliveries).toHaveLength(3);
    expect(after.deliveries.slice(0, 2)).toEqual(before.deliveries);

    await rig.h.relay.worker.runOnce();
    expect(rig.steady.received).toHaveLength(2);
    expect(rig.flaky.received).toHaveLength(1);
    expect(rig.steady.received[1].body).toBe(rig.steady.received[0].body);
    expect(rig.steady.received[1].headers["x-relay-delivery-id"]).toBe(replayed.id);
  });

  test("without a body: every destination a current route sends the event to", async () => {
    rig = await startRig();
    const id = await ingest(rig.h, "crm-url-id", { type: "lead" });
    const res = await rig.h.call("POST", `/api/events/${id}/replay`, { headers: admin });
    expect(res.status).toBe(201);
    expect(res.json.deliveries.map((d: any) => d.destination).sort()).toEqual(["flaky", "steady"]);
    expect((await get(rig.h, `/api/events/${id}`)).deliveries).toHaveLength(4);
  });

  test("routes and variables are read from the current config", async () => {
    rig = await startRig();
    const id = await ingest(rig.h, "crm-url-id", { type: "lead" });
    const none = await rig.h.call("POST", `/api/events/${id}/replay`, { headers: admin, body: { destination: "unrouted" } });
    expect(none.status).toBe(409);
    expect(none.json).toEqual({ error: 'no current route sends this event to "unrouted"', code: "conflict" });

    const withRoute = ADMIN_YAML.replace("routes:\n", "routes:\n  - name: late\n    from: crm\n    to: unrouted\n    transform: passthrough\n");
    rig.h.relay.reload(rig.configFrom(withRoute));
    const res = await rig.h.call("POST", `/api/events/${id}/replay`, { headers: admin, body: { destination: "unrouted" } });
    expect(res.status).toBe(201);
    expect(res.json.deliveries).toMatchObject([{ destination: "unrouted", route: "late" }]);
    await rig.h.relay.worker.runOnce();
    expect(rig.crm.received.map((r) => r.body)).toEqual(['{"type":"lead"}']);

    const withVariable = ADMIN_YAML.replace("    id: crm-url-id\n", "    id: crm-url-id\n    variables:\n      - name: email\n        type: string\n        required: true\n");
    rig.h.relay.reload(rig.configFrom(withVariable));
    const stale = await rig.h.call("POST", `/api/events/${id}/replay`, { headers: admin });
    expect(stale.status).toBe(409);
    expect(stale.json).toEqual({ error: "the event no longer passes its source's variables: email: required", code: "conflict" });
  });

  test("404 for an unknown event or destination, 400 for a malformed body", async () => {
    rig = await startRig();
    const id = await ingest(rig.h, "crm-url-id", { type: "lead" });
    const unknownEvent = await rig.h.call("POST", "/api/events/evt_nope/replay", { headers: admin });
    expect(unknownEvent.status).toBe(404);
    expect(unknownEvent.json).toEqual({ error: "unknown event", code: "not_found" });
    const unknownDest = await rig.h.call("POST", `/api/events/${id}/replay`, { headers: admin, body: { destination: "nowhere" } });
    expect(unknownDest.status).toBe(404);
    expect(unknownDest.json).toEqual({ error: 'unknown destination "nowhere"', code: "not_found" });
    const malformed = await rig.h.call("POST", `/api/events/${id}/replay`, { headers: admin, body: { destination: 5 } });
    expect(malformed.status).toBe(400);
    expect((await get(rig.h, `/api/events/${id}`)).deliveries).toHaveLength(2);
  });
});
