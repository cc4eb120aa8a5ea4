import { afterEach, describe, expect, test } from "bun:test";
import { admin, get, ingest, startRig, type AdminRig } from "./support.ts";

let rig: AdminRig;
afterEach(async () => {
  await rig.stop();
});

const failing = () => new Response("down for maintenance", { status: 500 });
const ok = () => new Response("ok");

/** Every flaky delivery fails twice (the first try and the one retry of `retry: [1s]`) and goes dead. */
async function killFlaky(events: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < events; i++) ids.push(await ingest(rig.h, "crm-url-id", { type: "lead", n: i }));
  await rig.h.relay.worker.runOnce();
  rig.h.clock.advance(1_500);
  await rig.h.relay.worker.runOnce();
  return ids;
}

describe("dead deliveries, retried once the receiver recovers", () => {
  test("list dead by destination, retry-dead, delivered; history kept, counter restarted", async () => {
    rig = await startRig({ flaky: failing });
    const events = await killFlaky(2);
    expect(rig.flaky.received).toHaveLength(4);

    const dead = await get(rig.h, "/api/deliveries?status=dead&destination=flaky");
    expect(dead.deliveries).toHaveLength(2);
    expect(dead.nextCursor).toBeNull();
    for (const d of dead.deliveries) {
      expect(d).toMatchObject({ destination: "flaky", status: "dead", attempts: 2, lastError: "status 500 is not an acknowledgment", nextAttemptAt: null });
    }
    expect(dead.deliveries.map((d: any) => d.eventId).sort()).toEqual([...events].sort());
    expect((await get(rig.h, "/api/deliveries?status=dead")).deliveries).toHaveLength(2);
    expect((await get(rig.h, "/api/deliveries?status=delivered&destination=steady")).deliveries).toHaveLength(2);

    rig.flaky.respondWith(ok);
    rig.h.clock.advance(60_000);
    const res = await rig.h.call("POST", "/api/destinations/flaky/retry-dead", { headers: admin });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ retried: 2 });
    const pending = await get(rig.h, "/api/deliveries?status=pending&destination=flaky");
    expect(pending.deliveries).toHaveLength(2);
    for (const d of pending.deliveries) {
      expect(d).toMatchObject({ attempts: 0, lastError: null, nextAttemptAt: new Date(rig.h.clock.now()).toISOString() });
    }
    await rig.h.relay.worker.runOnce();
    expect(rig.flaky.received).toHaveLength(6);
    expect((await get(rig.h, "/api/deliveries?status=dead")).deliveries).toEqual([]);

    for (const id of events) {
      const flaky = (await get(rig.h, `/api/events/${id}`)).deliveries.find((d: any) => d.destination === "flaky");
      expect(flaky).toMatchObject({ status: "delivered", attempts: 1 });
      expect(flaky.history.map((a: any) => a.statusCode)).toEqual([500, 500, 200]);
    }
    expect((await rig.h.call("POST", "/api/destinations/flaky/retry-dead", { headers: admin })).json).toEqual({ retried: 0 });
  });

  test("retry one dead delivery; 409 when it is not dead, 404 when unknown", async () => {
    rig = await startRig({ flaky: failing });
    await killFlaky(2);
    const [first, second] = (await get(rig.h, "/api/deliveries?status=dead&destination=flaky")).deliveries;
    rig.flaky.respondWith(ok);

    const res = await rig.h.call("POST", `/api/deliveries/${first.id}/retry`, { headers: admin });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: first.id, status: "pending", attempts: 0, lastError: null });
    const again = await rig.h.call("POST", `/api/deliveries/${first.id}/retry`, { headers: admin });
    expect(again.status).toBe(409);
    expect(again.json).toEqual({ error: "delivery is pending; only a dead delivery can be retried", code: "conflict" });

    await rig.h.relay.worker.runOnce();
    expect(rig.flaky.received.at(-1)!.headers["x-relay-delivery-id"]).toBe(first.id);
    expect((await get(rig.h, "/api/deliveries?status=dead")).deliveries.map((d: any) => d.id)).toEqual([second.id]);
    const delivered = await rig.h.call("POST", `/api/deliveries/${first.id}/retry`, { headers: admin });
    expect(delivered.status).toBe(409);
    expect(delivered.json.error).toContain("delivery is delivered");

    const unknown = await rig.h.call("POST", "/api/deliveries/dlv_nope/retry", { headers: admin });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: "unknown delivery", code: "not_found" });
  });

  test("a delivery whose transform failed has no body to resend: 409, and retry-dead leaves it", async () => {
    rig = await startRig();
    const id = await ingest(rig.h, "shop-url-id", { type: "broken" });
    const [dead] = (await get(rig.h, "/api/deliveries?status=dead")).deliveries;
    expect(dead).toMatchObject({ eventId: id, route: "broken", destination: "steady", attempts: 0 });
    expect(dead.lastError).toStartWith("transform failed:");

    const res = await rig.h.call("POST", `/api/deliveries/${dead.id}/retry`, { headers: admin });
    expect(res.status).toBe(409);
    expect(res.json).toEqual({ error: "delivery has no body (its transform failed); replay the event to render it again", code: "conflict" });
    expect((await rig.h.call("POST", "/api/destinations/steady/retry-dead", { headers: admin })).json).toEqual({ retried: 0 });
    expect((await get(rig.h, "/api/deliveries?status=dead")).deliveries).toHaveLength(1);
  });

  test("retry-dead of an unknown destination is 404", async () => {
    rig = await startRig();
    const res = await rig.h.call("POST", "/api/destinations/nowhere/retry-dead", { headers: admin });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'unknown destination "nowhere"', code: "not_found" });
  });
});

describe("GET /api/deliveries", () => {
  test("newest first in cursor pages; a bad status or limit is 400", async () => {
    rig = await startRig();
    for (let i = 0; i < 3; i++) {
      await ingest(rig.h, "crm-url-id", { type: "lead", i });
      rig.h.clock.advance(1000);
    }
    const all = (await get(rig.h, "/api/deliveries?destination=steady")).deliveries.map((d: any) => d.id);
    expect(all).toHaveLength(3);
    expect([...all].sort().reverse()).toEqual(all);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await get(rig.h, `/api/deliveries?destination=steady&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.deliveries.map((d: any) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
    expect((await get(rig.h, "/api/deliveries")).deliveries).toHaveLength(6);

    const badStatus = await rig.h.call("GET", "/api/deliveries?status=gone", { headers: admin });
    expect(badStatus.status).toBe(400);
    expect(badStatus.json.error).toStartWith('status: unknown status "gone"');
    const badLimit = await rig.h.call("GET", "/api/deliveries?limit=1000", { headers: admin });
    expect(badLimit.status).toBe(400);
  });
});
