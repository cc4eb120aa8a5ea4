import { afterEach, expect, test } from "bun:test";
import { createLogger } from "../../src/log.ts";
import { startRelay } from "../../src/server.ts";
import { subscriptions } from "../../src/admin/destinations.ts";
import type { SqliteStore } from "../../src/store/store.ts";
import { admin, get, ingest, startRig, type AdminRig } from "./support.ts";

let rig: AdminRig;
afterEach(() => rig?.stop());

const byName = async (path: string, key: string) => Object.fromEntries(((await get(rig.h, path))[key] as any[]).map((d) => [d.name, d]));

test("destination totals survive retention and a restart; the listing shows each destination's event types", async () => {
  rig = await startRig({ flaky: () => new Response("nope", { status: 503 }) });
  await ingest(rig.h, "crm-url-id", { type: "lead" });
  await rig.h.relay.worker.runOnce();
  let stats = await byName("/api/destinations", "destinations");
  expect(stats.steady.totals).toMatchObject({ sent: 1, failed: 0 });
  expect(stats.flaky.totals).toMatchObject({ sent: 0, failed: 1, lastSentAt: null });
  expect(stats.daily.events).toEqual(["digest.me"]);
  expect(stats.unrouted.events).toEqual([]);

  // Retention removes the history the hourly figures come from; the totals stay.
  (rig.h.relay.store as SqliteStore).sqlite.exec("DELETE FROM attempts; DELETE FROM deliveries; DELETE FROM events;");
  stats = await byName("/api/destinations", "destinations");
  expect(stats.steady.totals).toMatchObject({ sent: 1, failed: 0 });
  expect(stats.steady.sent).toBe(0);

  // A restart on the same database file.
  const config = rig.h.relay.config;
  await rig.h.relay.stop();
  const again = await startRelay(config, { clock: rig.h.clock, log: createLogger(() => {}, "error"), port: 0, hostname: "127.0.0.1", deliver: false });
  try {
    const res = await again.app.handle(new Request("http://relay.test/api/destinations", { headers: admin }));
    const after = Object.fromEntries(((await res.json()) as any).destinations.map((d: any) => [d.name, d]));
    expect(after.steady.totals).toMatchObject({ sent: 1, failed: 0 });
    expect(after.flaky.totals).toMatchObject({ sent: 0, failed: 1 });
  } finally {
    await again.stop();
  }
  rig.h.stop = async () => {};
});

test("sources: received, rejected and last received, per source, since the start", async () => {
  rig = await startRig();
  const t0 = new Date(rig.h.clock.now()).toISOString();
  expect((await byName("/api/sources", "sources")).shop).toEqual({ name: "shop", kind: "generic", received: 0, rejected: 0, lastReceivedAt: null, since: null });
  await ingest(rig.h, "shop-url-id", { type: "order" });
  rig.h.clock.advance(5_000);
  await ingest(rig.h, "shop-url-id", { type: "order" });
  expect((await rig.h.call("POST", "/api/webhook/shop-url-id", { body: "{not json" })).status).toBe(400);
  expect((await rig.h.call("POST", "/api/webhook/crm-url-id", { body: "x", headers: { "content-type": "text/plain" } })).status).toBe(415);
  expect((await rig.h.call("POST", "/api/webhook/nobody", { body: {} })).status).toBe(404);
  const sources = await byName("/api/sources", "sources");
  expect(sources.shop).toEqual({
    name: "shop",
    kind: "generic",
    received: 2,
    rejected: 1,
    lastReceivedAt: new Date(rig.h.clock.now()).toISOString(),
    since: t0,
  });
  expect(sources.crm).toMatchObject({ received: 0, rejected: 1, lastReceivedAt: null });
  expect(Object.keys(sources)).toEqual(["shop", "crm"]);
  expect((await rig.h.call("GET", "/api/sources")).status).toBe(401);
});

test("subscriptions: each route's type patterns, once, in route order", () => {
  const route = (to: string[], types: string[]) => ({ name: "r", from: ["s"], when: { types, fields: [] }, to, transform: { mode: "envelope" as const } });
  expect(Object.fromEntries(subscriptions([route(["a", "b"], ["order.*"]), route(["a"], []), route(["a"], ["order.*", "x"])]))).toEqual({
    a: ["order.*", "*", "x"],
    b: ["order.*"],
  });
});

test("source counts are stored at stop and read again after a restart", async () => {
  rig = await startRig();
  await ingest(rig.h, "shop-url-id", { type: "order" });
  expect((await rig.h.call("POST", "/api/webhook/shop-url-id", { body: "{" })).status).toBe(400);
  const config = rig.h.relay.config;
  await rig.h.relay.stop();
  const again = await startRelay(config, { clock: rig.h.clock, log: createLogger(() => {}, "error"), port: 0, hostname: "127.0.0.1", deliver: false });
  try {
    const res = await again.app.handle(new Request("http://relay.test/api/sources", { headers: admin }));
    const shop = ((await res.json()) as any).sources.find((s: any) => s.name === "shop");
    expect(shop).toMatchObject({ received: 1, rejected: 1, lastReceivedAt: new Date(rig.h.clock.now()).toISOString() });
  } finally {
    await again.stop();
  }
  rig.h.stop = async () => {};
});
