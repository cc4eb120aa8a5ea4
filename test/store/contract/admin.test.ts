// The admin, key and digest contract on both backends.
import { expect, test } from "bun:test";
import { newId } from "../../../src/ids.ts";
import { attempt, delivery, eachBackend, event, T } from "./backends.ts";

eachBackend("admin", (store) => {
  test("listEvents filters, searches bodies literally and pages newest first", async () => {
    const a = event({ id: "evt_0001", source: "shop", type: "order", body: '{"n":"100%"}' });
    const b = event({ id: "evt_0002", source: "shop", type: "refund", body: '{"n":"1000"}' });
    const c = event({ id: "evt_0003", source: "crm", type: "order", body: '{"n":"ABC"}' });
    await store().record(a, [delivery("crm", { status: "dead", lastError: "x" })]);
    await store().record(b, [delivery()]);
    await store().record(c, [delivery(), delivery()]);
    const ids = async (q: Partial<Parameters<ReturnType<typeof store>["admin"]["listEvents"]>[0]>) =>
      (await store().admin.listEvents({ limit: 10, ...q })).items.map((e) => e.id);
    expect(await ids({})).toEqual([c.id, b.id, a.id]);
    expect(await ids({ source: "shop" })).toEqual([b.id, a.id]);
    expect(await ids({ type: "order" })).toEqual([c.id, a.id]);
    expect(await ids({ status: "dead" })).toEqual([a.id]);
    expect(await ids({ text: "0%" })).toEqual([a.id]);
    expect(await ids({ text: "abc" })).toEqual([c.id]);
    expect(await ids({ sinceId: "evt_0002", untilId: "evt_0003" })).toEqual([b.id]);
    const page = await store().admin.listEvents({ limit: 2 });
    expect(page.nextCursor).toBe(b.id);
    expect(page.items[0].deliveries).toEqual({ pending: 2 });
    expect((await store().admin.listEvents({ limit: 2, cursor: page.nextCursor! })).items.map((e) => e.id)).toEqual([a.id]);
  });

  test("a text search reads one window of events per page; nextCursor goes on below it until the match", async () => {
    const at = (i: number) => T + i * 1000;
    const evs = Array.from({ length: 7 }, (_, i) => event({ id: `evt_${String(i).padStart(4, "0")}`, receivedAt: at(i), body: i === 1 ? '{"order":4521}' : '{"order":17}' }));
    for (const e of evs) await store().record(e, []);
    const search = (q: { text: string; cursor?: string; sinceId?: string }) => store().admin.listEvents({ limit: 10, searchWindow: 3, ...q });

    const summary = (e: (typeof evs)[number]) => ({ id: e.id, source: e.source, type: e.type, receivedAt: e.receivedAt });
    // Events 6, 5, 4: no match, a cursor at the window's end, and how far it read.
    const first = await search({ text: "4521" });
    expect(first).toEqual({ items: [], nextCursor: evs[4].id, searchedUntil: at(4) });
    // Events 3, 2, 1: the match, found by following the cursor; the window still ends at event 1.
    const second = await search({ text: "4521", cursor: first.nextCursor! });
    expect(second).toEqual({ items: [{ ...summary(evs[1]), deliveries: {} }], nextCursor: evs[1].id, searchedUntil: at(1) });
    // Event 0, the oldest: nothing more to search.
    expect(await search({ text: "4521", cursor: second.nextCursor! })).toEqual({ items: [], nextCursor: null, searchedUntil: at(0) });

    // More matches than the page holds: the cursor is the page's last match, the window is not the bound.
    const many = await store().admin.listEvents({ limit: 2, searchWindow: 3, text: "17" });
    expect(many).toMatchObject({ items: [{ id: evs[6].id }, { id: evs[5].id }], nextCursor: evs[5].id, searchedUntil: at(5) });
    // A time range bounds the window: nothing older than `since` is read, so the search ends there.
    expect(await search({ text: "4521", sinceId: evs[5].id })).toEqual({ items: [], nextCursor: null, searchedUntil: at(5) });
    // Without text nothing is windowed.
    expect(await store().admin.listEvents({ limit: 10, searchWindow: 3 })).toMatchObject({ nextCursor: null, searchedUntil: null });
    expect((await store().admin.listEvents({ limit: 10, searchWindow: 3 })).items).toHaveLength(7);
  });

  test("listDeliveries filters by status and destination and pages; getDelivery shows body and history", async () => {
    const rows = [delivery("crm"), delivery("crm", { status: "dead", lastError: "x" }), delivery("slack")];
    await store().record(event(), rows);
    const page = await store().admin.listDeliveries({ limit: 1 });
    expect(page.items.map((d) => d.id)).toEqual([rows[2].id]);
    expect(page.nextCursor).toBe(rows[2].id);
    expect((await store().admin.listDeliveries({ destination: "crm", limit: 10 })).items.map((d) => d.id)).toEqual([rows[1].id, rows[0].id]);
    expect((await store().admin.listDeliveries({ status: "dead", limit: 10 })).items.map((d) => d.id)).toEqual([rows[1].id]);
    expect(await store().admin.getDelivery("dlv_nope")).toBeNull();
    expect(await store().admin.getDelivery(rows[0].id)).toMatchObject({ body: "{}", history: [], status: "pending" });
  });

  test("retryDelivery and retryDead put dead rows with a body back in line", async () => {
    const dead = delivery("crm", { status: "dead", lastError: "x" });
    const bodiless = delivery("crm", { status: "dead", body: "", lastError: "transform failed" });
    const alive = delivery("crm");
    const other = delivery("crm", { status: "dead", lastError: "y" });
    await store().record(event(), [dead, bodiless, alive, other]);
    expect(await store().admin.retryDelivery("dlv_nope", T)).toBe("not_found");
    expect(await store().admin.retryDelivery(alive.id, T)).toBe("not_dead");
    expect(await store().admin.retryDelivery(bodiless.id, T)).toBe("no_body");
    expect(await store().admin.retryDelivery(dead.id, T + 5)).toBe("retried");
    expect(await store().admin.getDelivery(dead.id)).toMatchObject({ status: "pending", attempts: 0, nextAttemptAt: T + 5, lastError: null });
    expect(await store().admin.retryDead("crm", T + 6)).toBe(1);
    expect((await store().admin.getDelivery(bodiless.id))!.status).toBe("dead");
  });

  test("a test delivery is leased at once and settles like any other", async () => {
    const id = newId("dlv", T);
    await store().admin.insertTestDelivery({ id, destination: "crm", eventType: "relay.test", body: "{}", now: T, leaseUntil: T + 1000 });
    expect(await store().claim("crm", 5, T, 1000)).toEqual([]);
    await store().settle([{ deliveryId: id, destination: "crm", attempt: attempt(), outcome: "delivered", at: T }]);
    expect(await store().admin.getDelivery(id)).toMatchObject({ status: "delivered", route: "test-send", eventId: null });
  });

  test("destination stats: stored names, open counts, attempt window percentiles, last delivered", async () => {
    const ds = Array.from({ length: 4 }, () => delivery("crm"));
    await store().record(event(), [...ds, delivery("old", { status: "held_for_digest" })]);
    await store().claim("crm", 4, T, 1000);
    await store().settle(
      ds.slice(0, 3).map((d, i) => ({ deliveryId: d.id, destination: d.destination, attempt: attempt({ durationMs: (i + 1) * 10, startedAt: T + i }), outcome: "delivered" as const, at: T + i })),
    );
    expect(await store().admin.storedDestinations()).toEqual(["crm", "old"]);
    expect(await store().admin.openCounts()).toEqual(
      new Map([
        ["crm", { pending: 0, inFlight: 1, dead: 0, held: 0 }],
        ["old", { pending: 0, inFlight: 0, dead: 0, held: 1 }],
      ]),
    );
    expect(await store().admin.attemptWindow(T, T + 10)).toEqual(new Map([["crm", { sent: 3, failed: 0, p50: 20, p95: 30, p99: 30 }]]));
    expect(await store().admin.lastDeliveredAt("crm")).toBe(T + 2);
    expect(await store().admin.lastDeliveredAt("old")).toBeNull();
  });

  test("discard gives dead deliveries up: kept in the history, no longer dead; other statuses are left alone", async () => {
    const dead = delivery("crm", { status: "dead", lastError: "x" });
    const alsoDead = delivery("crm", { status: "dead", lastError: "y" });
    const elsewhere = delivery("slack", { status: "dead", lastError: "z" });
    const alive = delivery("crm");
    await store().record(event(), [dead, alsoDead, elsewhere, alive]);
    expect(await store().admin.discardDelivery(alive.id)).toBe(false);
    expect(await store().admin.discardDelivery("dlv_nope")).toBe(false);
    expect(await store().admin.discardDelivery(dead.id)).toBe(true);
    expect(await store().admin.discardDelivery(dead.id)).toBe(false);
    expect(await store().admin.getDelivery(dead.id)).toMatchObject({ status: "discarded", lastError: "x" });
    expect(await store().admin.discardDead("crm")).toBe(1);
    expect((await store().admin.openCounts()).get("crm")).toEqual({ pending: 1, inFlight: 0, dead: 0, held: 0 });
    expect((await store().admin.getDelivery(elsewhere.id))!.status).toBe("dead");
    expect((await store().admin.listDeliveries({ status: "discarded", limit: 10 })).items.map((d) => d.id).sort()).toEqual([dead.id, alsoDead.id].sort());
  });

  test("oldestPending is the creation time of the delivery first in line; lastError the latest failure still open", async () => {
    const first = delivery("crm", { nextAttemptAt: T + 5 });
    const later = delivery("crm", { nextAttemptAt: T + 9 });
    await store().record(event({ receivedAt: T + 3 }), [first]);
    await store().record(event({ receivedAt: T + 1 }), [later]);
    expect(await store().admin.oldestPending("crm")).toBe(T + 3);
    expect(await store().admin.oldestPending("slack")).toBeNull();
    expect(await store().admin.lastError("crm", T)).toBeNull();

    await store().claim("crm", 2, T + 10, 1000);
    await store().settle([
      { deliveryId: first.id, destination: first.destination, attempt: attempt({ startedAt: T + 11, error: "boom", statusCode: 500 }), outcome: "dead", error: "boom" },
      { deliveryId: later.id, destination: later.destination, attempt: attempt({ startedAt: T + 12, error: "later", statusCode: 503 }), outcome: "retry", nextAttemptAt: T + 1000, error: "later" },
    ]);
    expect(await store().admin.lastError("crm", T + 20)).toEqual({ at: T + 12, error: "later" });
    // Once the retry is due it is no longer waiting on its error: the dead one is the latest failure left.
    expect(await store().admin.lastError("crm", T + 2000)).toEqual({ at: T + 11, error: "boom" });
    expect(await store().admin.oldestPending("crm")).toBe(T + 1);
  });

  test("eventsByIdempotencyKey finds the event of each listed source carrying the key", async () => {
    const shop = event({ source: "shop", idempotencyKey: "k1" });
    const crm = event({ source: "crm", idempotencyKey: "k1" });
    const other = event({ source: "shop", idempotencyKey: "k2" });
    for (const e of [shop, crm, other]) await store().record(e, []);
    expect((await store().admin.eventsByIdempotencyKey("k1", ["shop", "crm", "gone"])).sort()).toEqual([shop.id, crm.id].sort());
    expect(await store().admin.eventsByIdempotencyKey("k1", ["shop"])).toEqual([shop.id]);
    expect(await store().admin.eventsByIdempotencyKey("k3", ["shop", "crm"])).toEqual([]);
    expect(await store().admin.eventsByIdempotencyKey("k1", [])).toEqual([]);
  });

  test("keys: insert, find, list oldest first, revoke keeps the first time, touch; a duplicate id says UNIQUE", async () => {
    const row = { id: "k1", name: "shop", secretHash: "ab", scopes: ["webhook:write"], source: null, rateLimitPerMinute: 60, createdAt: T };
    await store().keys.insert(row);
    await store().keys.insert({ ...row, id: "k0", createdAt: T + 1, source: "shop", rateLimitPerMinute: null });
    await expect(store().keys.insert(row)).rejects.toThrow(/UNIQUE/);
    expect(await store().keys.findById("k1")).toEqual({ ...row, lastUsedAt: null, revokedAt: null });
    expect((await store().keys.list()).map((k) => k.id)).toEqual(["k1", "k0"]);
    expect(await store().keys.revoke("k1", T + 5)).toBe(true);
    expect(await store().keys.revoke("k1", T + 9)).toBe(true);
    expect(await store().keys.revoke("nope", T)).toBe(false);
    await store().keys.touch("k0", T + 7);
    expect(await store().keys.findById("k1")).toMatchObject({ revokedAt: T + 5 });
    expect(await store().keys.findById("k0")).toMatchObject({ lastUsedAt: T + 7, source: "shop", rateLimitPerMinute: null });
    expect(await store().keys.findById("nope")).toBeNull();
    // Uses reported out of order never move the time back.
    await store().keys.touch("k0", T + 6);
    expect((await store().keys.findById("k0"))!.lastUsedAt).toBe(T + 7);
  });
});

eachBackend("digests", (store) => {
  const close = (end: number, more: Partial<Parameters<ReturnType<typeof store>["digests"]["closeWindow"]>[0]> = {}) =>
    store().digests.closeWindow({
      destination: "crm",
      windowStart: end - 100,
      windowEnd: end,
      maxItems: 2,
      sendEmpty: false,
      buildBody: (items, part, parts) => JSON.stringify({ items: items.map((i) => JSON.parse(i)), part, parts }),
      now: end,
      newId: (prefix) => newId(prefix, end),
      ...more,
    });
  const hold = async (at: number, n: number) => {
    const d = delivery("crm", { status: "held_for_digest", body: `{"n":${n}}`, nextAttemptAt: at });
    await store().record(event({ receivedAt: at }), [d]);
    return d.id;
  };

  test("a window takes every held item up to its end, in parts, once", async () => {
    const ids = [await hold(T + 1, 1), await hold(T + 2, 2), await hold(T + 3, 3), await hold(T + 50, 4)];
    expect(await store().digests.heldCount("crm", T + 10)).toBe(3);
    expect(await store().digests.oldestHeldAt("crm")).toBe(T + 1);
    const closed = await close(T + 10);
    expect(closed.created).toBe(true);
    expect(closed.items).toBe(3);
    expect(closed.digests.map((d) => [d.part, d.parts, d.items])).toEqual([[1, 2, 2], [2, 2, 1]]);
    expect((await store().digests.digestItems(closed.digests[0].id)).map((i) => i.id)).toEqual(ids.slice(0, 2));
    const sent = (await store().admin.getDelivery(closed.digests[1].deliveryId!))!;
    expect(sent).toMatchObject({ status: "pending", route: "digest", digestId: closed.digests[1].id, body: '{"items":[{"n":3}],"part":2,"parts":2}' });
    expect(await close(T + 10)).toEqual({ created: false, digests: closed.digests, items: 0 });
    expect(await store().digests.lastClosedWindowEnd("crm")).toBe(T + 10);
    expect(await store().digests.window("crm", T + 10)).toHaveLength(2);
    expect(await store().digests.digest(closed.digests[0].id)).toMatchObject({ destination: "crm", windowEnd: T + 10, items: 2, status: "pending", attempts: 0 });
    // A later window already closed: an earlier one writes nothing.
    expect(await close(T + 60)).toMatchObject({ created: true, items: 1 });
    expect(await close(T + 40)).toEqual({ created: false, digests: [], items: 0 });
  });

  test("heldBodies lists what a flush would take, oldest first; recent lists closed parts, newest first", async () => {
    await hold(T + 1, 1);
    await hold(T + 2, 2);
    await hold(T + 30, 3);
    expect(await store().digests.heldBodies("crm", T + 10)).toEqual(['{"n":1}', '{"n":2}']);
    expect(await store().digests.heldBodies("slack", T + 10)).toEqual([]);
    await close(T + 10, { maxItems: 1 });
    await close(T + 40);
    const recent = await store().digests.recent("crm", 2);
    expect(recent.map((r) => [r.windowEnd, r.part, r.items])).toEqual([[T + 40, 1, 1], [T + 10, 2, 1]]);
    expect(recent[0]).toMatchObject({ destination: "crm", status: "pending", attempts: 0 });
    expect(await store().digests.recent("slack", 5)).toEqual([]);
  });

  test("an empty window is recorded, sent only with sendEmpty; a dead digest can be retried", async () => {
    expect(await close(T + 10)).toMatchObject({ created: true, items: 0, digests: [{ deliveryId: null, items: 0 }] });
    const empty = await close(T + 20, { sendEmpty: true });
    const deliveryId = empty.digests[0].deliveryId!;
    expect((await store().admin.getDelivery(deliveryId))!.body).toBe('{"items":[],"part":1,"parts":1}');
    expect(await store().digests.retryDigest(empty.digests[0].id, T)).toBe(false);
    await store().claim("crm", 1, T + 20, 1000);
    await store().settle([{ deliveryId, destination: "crm", attempt: attempt({ error: "x" }), outcome: "dead", error: "x" }]);
    expect(await store().digests.digest(empty.digests[0].id)).toMatchObject({ status: "dead", lastError: "x" });
    expect(await store().digests.retryDigest(empty.digests[0].id, T + 30)).toBe(true);
    expect(await store().digests.digest("dig_nope")).toBeNull();
  });
});
