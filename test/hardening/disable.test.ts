import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { disableDue, nextFailingSince } from "../../src/delivery/disable.ts";
import { ADMIN_TOKEN, admin, startHarness, type Harness } from "../support/harness.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { uiClient } from "../ui/support.ts";

let h: Harness | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await h?.stop();
  receiver?.stop();
  h = receiver = undefined;
});

const DAY = 86_400_000;

test("the failure run starts at the first failure and ends at a success; disabling is due after the setting", () => {
  expect(nextFailingSince(null, "retry", 5)).toBe(5);
  expect(nextFailingSince(5, "dead", 9)).toBe(5);
  expect(nextFailingSince(5, "delivered", 9)).toBeNull();
  expect(disableDue(0, 5 * DAY - 1, 5 * DAY)).toBe(false);
  expect(disableDue(0, 5 * DAY, 5 * DAY)).toBe(true);
  expect(disableDue(null, 10 * DAY, 5 * DAY)).toBe(false);
  expect(disableDue(0, 10 * DAY, 0)).toBe(false);
});

async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

test("a destination failing continuously for disable_after is disabled: pending → dead, error log, metric; resume and reload enable it", async () => {
  receiver = startReceiver(() => new Response("down", { status: 500 }));
  const yaml = (after: string) => `
server: { admin_token: "\${RELAY_ADMIN_TOKEN}" }
storage: { path: ./data/relay.db }
sources: { shop: { id: shop-1 } }
destinations:
  flaky: { url: "${receiver!.url}/hook", retry: [1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h, 1h], disable_after: ${after} }
routes: [{ from: shop, to: flaky }]
`;
  h = await startHarness(yaml("1d"));
  const ingest = async () => (await h!.call("POST", "/api/webhook/shop-1", { body: { type: "t" } })).json.id as string;
  const first = await ingest();
  await h.relay.worker.runOnce();
  h.clock.advance(DAY - 1);
  const second = await ingest();
  await h.relay.worker.runOnce();
  expect(h.lines.some((l) => l.includes("destination disabled"))).toBe(false);

  h.clock.advance(1);
  const third = await ingest();
  await h.relay.worker.runOnce();
  await until(() => h!.lines.some((l) => l.includes('"destination disabled"')), "the disable");
  const line = JSON.parse(h.lines.find((l) => l.includes('"destination disabled"'))!);
  expect(line).toMatchObject({ level: "error", destination: "flaky", deliveriesDead: 3 });

  const status = (id: string) => new Database(h!.dbPath, { readonly: true }).query<{ s: string; e: string }, [string]>("SELECT status AS s, last_error AS e FROM deliveries WHERE event_id = ?").get(id)!;
  for (const id of [first, second, third]) {
    expect(status(id).s).toBe("dead");
    expect(status(id).e).toContain('destination "flaky" disabled after failing continuously since 2026-03-02T09:00:00.000Z');
  }
  const metrics = await h.call("GET", "/metrics");
  expect(metrics.text).toContain('relay_destination_circuit{destination="flaky",state="disabled"} 1');
  const stateOf = async () => (await h!.call("GET", "/api/destinations", { headers: admin })).json.destinations[0].state;
  expect(await stateOf()).toBe("disabled");
  const ui = uiClient(h);
  await ui.signIn(ADMIN_TOKEN);
  expect((await ui.get("/ui/now/table")).text).toMatch(/data-destination="flaky">[\s\S]*?state-disabled">disabled<[\s\S]*?>Resume</);

  // Disabled: nothing is attempted any more, even when due.
  const attemptsBefore = receiver.received.length;
  h.clock.advance(2 * 3_600_000);
  await ingest();
  await h.relay.worker.runOnce();
  expect(receiver.received.length).toBe(attemptsBefore);

  // The admin action.
  const resumed = await h.call("POST", "/api/destinations/flaky/resume", { headers: admin });
  expect(resumed.status).toBe(200);
  expect(h.lines.some((l) => l.includes('"destination enabled"'))).toBe(true);
  expect(await stateOf()).not.toBe("disabled");
  await h.relay.worker.runOnce();
  expect(receiver.received.length).toBe(attemptsBefore + 1);

  // Failing on for another day disables it again; the dashboard's Resume turns it back on.
  h.clock.advance(DAY);
  await ingest();
  await h.relay.worker.runOnce();
  await until(() => h!.lines.filter((l) => l.includes('"destination disabled"')).length === 2, "the second disable");
  await ui.signIn(ADMIN_TOKEN); // a day later the first session has expired
  expect((await ui.post("/ui/destinations/flaky/resume", { _csrf: await ui.csrf() })).status).toBe(303);
  expect(h.lines.filter((l) => l.includes('"destination enabled"'))).toHaveLength(2);
  expect(await stateOf()).toBe("closed");
  await ingest();
  await h.relay.worker.runOnce();

  // And once more: a config reload turns it back on.
  h.clock.advance(DAY);
  await ingest();
  await h.relay.worker.runOnce();
  await until(() => h!.lines.filter((l) => l.includes('"destination disabled"')).length === 3, "the third disable");
  h.relay.reload(h.relay.config);
  expect(h.lines.filter((l) => l.includes('"destination enabled"'))).toHaveLength(3);
  expect(h.relay.worker.destinationState("flaky")).toBe("closed");
});

test("below storage.min_free, ingest is refused with 503 + Retry-After before SQLite runs out of space", async () => {
  const yaml = (floor: string) => `
storage: { path: ./data/relay.db, min_free: ${floor} }
sources: { shop: { id: shop-1 } }
`;
  // No disk here has a petabyte free.
  h = await startHarness(yaml("1000000gb"));
  const refused = await h.call("POST", "/api/webhook/shop-1", { body: { type: "t" } });
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("60");
  expect(refused.json).toEqual({ error: "the server is low on disk space; retry later", code: "storage_full" });
  const health = await h.call("GET", "/api/health");
  expect(health.status).toBe(503);
  expect(health.json.checks.storage.error).toMatch(/^free disk space [\d.]+ MB is below storage.min_free 1024000000.0 MB$/);

  h.relay.reload({ ...h.relay.config, storage: { ...h.relay.config.storage, minFreeBytes: 1024 } });
  h.clock.advance(1000);
  expect((await h.call("POST", "/api/webhook/shop-1", { body: { type: "t" } })).status).toBe(202);
  expect((await h.call("GET", "/api/health")).status).toBe(200);
});
