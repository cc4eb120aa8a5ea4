import { afterEach, expect, test } from "bun:test";
import { admin, get, ingest, startRig, type AdminRig } from "./support.ts";

let rig: AdminRig;
afterEach(() => rig?.stop());

const deadOf = async (destination: string) => (await get(rig.h, `/api/deliveries?status=dead&destination=${destination}`)).deliveries as any[];

test("a dead delivery is discarded: kept in the history as discarded, no longer dead, never sent", async () => {
  rig = await startRig();
  const eventId = await ingest(rig.h, "shop-url-id", { type: "broken" });
  const [dead] = await deadOf("steady");
  expect(dead).toMatchObject({ eventId, status: "dead" });

  const res = await rig.h.call("POST", `/api/deliveries/${dead.id}/discard`, { headers: admin });
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ id: dead.id, status: "discarded", lastError: dead.lastError });
  expect(await deadOf("steady")).toEqual([]);
  expect((await get(rig.h, "/api/destinations")).destinations.find((d: any) => d.name === "steady").dead).toBe(0);
  expect((await get(rig.h, `/api/events/${eventId}`)).deliveries.find((d: any) => d.id === dead.id).status).toBe("discarded");
  expect((await get(rig.h, "/api/deliveries?status=discarded")).deliveries.map((d: any) => d.id)).toEqual([dead.id]);

  const again = await rig.h.call("POST", `/api/deliveries/${dead.id}/discard`, { headers: admin });
  expect(again.status).toBe(409);
  expect(again.json).toEqual({ error: "delivery is discarded; only a dead delivery can be discarded", code: "conflict" });
  expect((await rig.h.call("POST", `/api/deliveries/${dead.id}/retry`, { headers: admin })).status).toBe(409);
  expect((await rig.h.call("POST", "/api/deliveries/dlv_nope/discard", { headers: admin })).status).toBe(404);
});

test("every dead delivery of a destination at once; a webhook-only caller may not", async () => {
  rig = await startRig();
  for (let i = 0; i < 3; i++) await ingest(rig.h, "shop-url-id", { type: "broken" });
  expect(await deadOf("steady")).toHaveLength(3);
  expect((await rig.h.call("POST", "/api/destinations/steady/discard-dead")).status).toBe(401);
  const res = await rig.h.call("POST", "/api/destinations/steady/discard-dead", { headers: admin });
  expect(res.json).toEqual({ discarded: 3 });
  expect(await deadOf("steady")).toEqual([]);
  expect((await rig.h.call("POST", "/api/destinations/nowhere/discard-dead", { headers: admin })).status).toBe(404);
});

test("a failed test send is not dead traffic: discarded at once, the destination shows no dead delivery", async () => {
  rig = await startRig({ crm: () => new Response("nope", { status: 500 }) });
  const res = await rig.h.call("POST", "/api/destinations/crm/test", { headers: admin });
  expect(res.json.delivered).toBe(false);
  expect(await deadOf("crm")).toEqual([]);
  expect((await get(rig.h, "/api/destinations")).destinations.find((d: any) => d.name === "crm").dead).toBe(0);
  const [recorded] = (await get(rig.h, "/api/deliveries?destination=crm")).deliveries;
  expect(recorded).toMatchObject({ id: res.json.deliveryId, route: "test-send", status: "discarded", attempts: 1 });
});
