// The outbox contract: every behaviour here holds on SQLite and on PostgreSQL alike.
import { expect, test } from "bun:test";
import { attempt, delivery, eachBackend, event, T } from "./backends.ts";

eachBackend("outbox", (store) => {
  test("record stores the event and its outbox rows; the event reads back exactly", async () => {
    const e = event({ headers: { "x-b": "2" }, body: '{"b":"é"}' });
    const [d1, d2] = [delivery("crm"), delivery("slack", { status: "held_for_digest" })];
    expect(await store().record(e, [d1, d2])).toEqual({ eventId: e.id, duplicate: false });
    const found = (await store().admin.getEvent(e.id))!;
    expect(found.event).toEqual({ id: e.id, source: "shop", type: "order", receivedAt: T, headers: { "x-b": "2" }, body: '{"b":"é"}', idempotencyKey: null });
    expect(found.deliveries.map((d) => [d.id, d.destination, d.status, d.eventType, d.attempts])).toEqual([
      [d1.id, "crm", "pending", "order", 0],
      [d2.id, "slack", "held_for_digest", "order", 0],
    ]);
  });

  test("an idempotency key seen before writes nothing and answers the first event, also within one commit group", async () => {
    const first = event({ idempotencyKey: "k1" });
    const again = event({ idempotencyKey: "k1" });
    const other = event({ idempotencyKey: "k1", source: "crm-in" });
    const results = await Promise.all([
      store().record(first, [delivery()]),
      store().record(again, [delivery()]),
      store().record(other, [delivery()]),
    ]);
    expect(results).toEqual([
      { eventId: first.id, duplicate: false },
      { eventId: first.id, duplicate: true },
      { eventId: other.id, duplicate: false },
    ]);
    expect(await store().record(event({ idempotencyKey: "k1" }), [delivery()])).toEqual({ eventId: first.id, duplicate: true });
    expect((await store().outboxDepth()).pending).toBe(2);
  });

  test("a record that fails fails alone; the rest of its group is stored", async () => {
    const taken = event();
    await store().record(taken, []);
    const ok = event();
    const results = await Promise.allSettled([store().record({ ...event(), id: taken.id }, [delivery()]), store().record(ok, [delivery()])]);
    expect(results[0].status).toBe("rejected");
    expect(results[1]).toEqual({ status: "fulfilled", value: { eventId: ok.id, duplicate: false } });
    expect((await store().admin.getEvent(ok.id))!.deliveries).toHaveLength(1);
  });

  test("onCommit listeners hear each commit", async () => {
    let heard = 0;
    const off = store().onCommit(() => heard++);
    await store().record(event(), [delivery()]);
    expect(heard).toBeGreaterThanOrEqual(1);
    off();
    const before = heard;
    await store().record(event(), [delivery()]);
    await Bun.sleep(50);
    expect(heard).toBe(before);
  });

  test("claim leases due rows of one destination, the oldest due first, up to the limit, each once", async () => {
    const late = delivery("crm", { nextAttemptAt: T + 5 });
    const early = delivery("crm", { nextAttemptAt: T + 1 });
    const future = delivery("crm", { nextAttemptAt: T + 1000 });
    await store().record(event(), [late, early, future, delivery("slack")]);
    expect((await store().claim("crm", 1, T + 10, 30_000)).map((c) => c.id)).toEqual([early.id]);
    const claimed = await store().claim("crm", 10, T + 10, 30_000);
    expect(claimed.map((c) => c.id)).toEqual([late.id]);
    expect(claimed[0]).toMatchObject({ destination: "crm", route: "r", eventType: "order", body: "{}", attempts: 0, digestId: null });
    expect(await store().claim("crm", 10, T + 10, 30_000)).toEqual([]);
    expect((await store().claim("crm", 1, T + 2000, 30_000)).map((c) => c.id)).toEqual([future.id]);
    expect((await store().outboxDepth()).in_flight).toBe(3);
  });

  test("a claim of nothing asks nothing", async () => {
    await store().record(event(), [delivery("crm")]);
    expect(await store().claim("crm", 0, T, 30_000)).toEqual([]);
    expect((await store().outboxDepth()).in_flight).toBe(0);
  });

  test("settle records the attempt and the outcome: delivered, retry at a time, dead", async () => {
    const [a, b, c] = [delivery(), delivery(), delivery()];
    await store().record(event(), [a, b, c]);
    await store().claim("crm", 3, T, 30_000);
    await store().settle([
      { deliveryId: a.id, destination: a.destination, attempt: attempt(), outcome: "delivered", at: T + 7 },
      { deliveryId: b.id, destination: b.destination, attempt: attempt({ statusCode: 500, error: "HTTP 500" }), outcome: "retry", nextAttemptAt: T + 60_000, error: "HTTP 500" },
      { deliveryId: c.id, destination: c.destination, attempt: attempt({ statusCode: null, error: "refused" }), outcome: "dead", error: "refused" },
    ]);
    const got = async (id: string) => (await store().admin.getDelivery(id))!;
    expect(await got(a.id)).toMatchObject({ status: "delivered", attempts: 1, deliveredAt: T + 7, lastError: null });
    expect(await got(b.id)).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: T + 60_000, lastError: "HTTP 500" });
    expect(await got(c.id)).toMatchObject({ status: "dead", attempts: 1, lastError: "refused" });
    expect((await got(b.id)).history.map((h) => [h.statusCode, h.error, h.durationMs])).toEqual([[500, "HTTP 500", 10]]);
    expect(await store().nextDueAt("crm")).toBe(T + 60_000);
    await store().settle([]);
  });

  test("release gives back claimed rows at once; only expired leases return on the sweep", async () => {
    const [a, b] = [delivery(), delivery()];
    await store().record(event(), [a, b]);
    await store().claim("crm", 1, T, 1000);
    await store().claim("crm", 1, T + 500, 1000);
    expect(await store().releaseExpiredLeases(T + 1200)).toBe(1);
    expect(await store().release([b.id, a.id])).toBe(1);
    expect(await store().release([])).toBe(0);
    expect((await store().outboxDepth()).pending).toBe(2);
    expect(await store().claim("crm", 5, T + 2000, 1000)).toHaveLength(2);
    expect(await store().releaseLeasesAtStart()).toBe(2);
    expect((await store().outboxDepth()).in_flight).toBe(0);
  });

  test("nextDueAt is the earliest pending row of a destination, or null", async () => {
    expect(await store().nextDueAt("crm")).toBeNull();
    await store().record(event(), [delivery("crm", { nextAttemptAt: T + 9 }), delivery("crm", { nextAttemptAt: T + 3 }), delivery("x", { nextAttemptAt: T })]);
    expect(await store().nextDueAt("crm")).toBe(T + 3);
  });

  test("addDeliveries appends rows to a stored event", async () => {
    const e = event();
    await store().record(e, []);
    const extra = delivery("crm", { nextAttemptAt: T + 1 });
    await store().addDeliveries({ id: e.id, type: e.type }, [extra], T + 1);
    await store().addDeliveries({ id: e.id, type: e.type }, [], T + 1);
    expect((await store().admin.getEvent(e.id))!.deliveries.map((d) => [d.id, d.createdAt])).toEqual([[extra.id, T + 1]]);
  });

  test("sourceId is generated once and kept", async () => {
    const first = await store().sourceId("shop", () => "src_a", T);
    expect(first).toBe("src_a");
    expect(await store().sourceId("shop", () => "src_b", T)).toBe("src_a");
    expect(await store().sourceId("crm", () => "src_c", T)).toBe("src_c");
  });

  test("outboxDepth counts every open status, zero included", async () => {
    expect(await store().outboxDepth()).toEqual({ pending: 0, in_flight: 0, held_for_digest: 0, dead: 0 });
    await store().record(event(), [delivery(), delivery("d", { status: "held_for_digest" }), delivery("d", { status: "dead", lastError: "x" })]);
    expect(await store().outboxDepth()).toEqual({ pending: 1, in_flight: 0, held_for_digest: 1, dead: 1 });
  });

  test("purgeBatch removes old finished events with their rows and keeps anything not done", async () => {
    const done = event({ id: `evt_0001` });
    const dead = event({ id: `evt_0002` });
    const fresh = event({ id: `evt_0009` });
    const d = delivery();
    await store().record(done, [d]);
    await store().record(dead, [delivery("crm", { status: "dead", lastError: "x" })]);
    await store().record(fresh, [delivery()]);
    await store().claim("crm", 1, T, 1000);
    await store().settle([{ deliveryId: d.id, destination: d.destination, attempt: attempt(), outcome: "delivered", at: T }]);
    const batch = await store().purgeBatch("evt_0005", "", 10);
    expect(batch).toEqual({ scanned: 2, events: 1, deliveries: 1, attempts: 1, cursor: dead.id });
    expect(await store().admin.getEvent(done.id)).toBeNull();
    expect(await store().admin.getEvent(dead.id)).not.toBeNull();
    expect(await store().purgeBatch("evt_0005", batch.cursor, 10)).toMatchObject({ scanned: 0, events: 0 });
  });

  test("a heartbeat makes this instance visible with what it runs", async () => {
    expect(await store().instances()).toEqual([]);
    const me = { id: store().instanceId, version: "1.2.3", configHash: "abc", startedAt: T };
    await store().heartbeat(me, T + 1);
    await store().heartbeat({ ...me, configHash: "def" }, T + 2);
    expect(await store().instances()).toEqual([{ ...me, configHash: "def", lastSeenAt: T + 2 }]);
  });

  test("ping answers while the store is open", async () => {
    await store().ping();
  });
});
