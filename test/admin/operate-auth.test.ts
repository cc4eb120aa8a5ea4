import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createKeyViaApi } from "../support/harness.ts";
import { admin, ingest, startRig, type AdminRig } from "./support.ts";

let rig: AdminRig;
let eventId: string;
let deliveryId: string;
beforeEach(async () => {
  rig = await startRig();
  eventId = await ingest(rig.h, "crm-url-id", { type: "lead" });
  const res = await rig.h.call("GET", "/api/deliveries", { headers: admin });
  deliveryId = res.json.deliveries[0].id;
});
afterEach(async () => {
  await rig.stop();
});

const endpoints = (): Array<[string, string]> => [
  ["GET", "/api/events"],
  ["GET", `/api/events/${eventId}`],
  ["POST", `/api/events/${eventId}/replay`],
  ["GET", "/api/deliveries?status=dead"],
  ["POST", `/api/deliveries/${deliveryId}/retry`],
  ["GET", "/api/destinations"],
  ["POST", "/api/destinations/steady/retry-dead"],
  ["POST", "/api/destinations/steady/test"],
];

describe("the operating endpoints need an admin", () => {
  test("401 without credentials, 403 with a webhook-only key, and nothing happens", async () => {
    const writer = await createKeyViaApi(rig.h, { name: "writer", scopes: ["webhook:write"], source: "shop" });
    for (const [method, path] of endpoints()) {
      const none = await rig.h.call(method, path);
      expect({ path, status: none.status, body: none.json }).toEqual({ path, status: 401, body: { error: "missing API key", code: "unauthorized" } });
      const forbidden = await rig.h.call(method, path, { headers: { "x-api-key": writer.key } });
      expect({ path, status: forbidden.status, body: forbidden.json }).toEqual({ path, status: 403, body: { error: "API key lacks scope admin", code: "forbidden" } });
    }
    expect(rig.steady.received).toHaveLength(0);
    const event = await rig.h.call("GET", `/api/events/${eventId}`, { headers: admin });
    expect(event.json.deliveries).toHaveLength(2);
  });

  test("credentials are checked before the query or body", async () => {
    expect((await rig.h.call("GET", "/api/events?limit=0&status=nope")).status).toBe(401);
    expect((await rig.h.call("POST", `/api/events/${eventId}/replay`, { body: { destination: 7 } })).status).toBe(401);
  });

  test("an admin-scoped key works like the admin token", async () => {
    const ops = await createKeyViaApi(rig.h, { name: "ops", scopes: ["admin"] });
    for (const [method, path] of endpoints()) {
      const res = await rig.h.call(method, path, { headers: { authorization: `Bearer ${ops.key}` } });
      expect({ path, ok: [200, 201, 409].includes(res.status) }).toEqual({ path, ok: true });
    }
  });
});

describe("OpenAPI", () => {
  test("every operating endpoint is documented under the admin tag with its responses", async () => {
    const doc = (await rig.h.call("GET", "/api/openapi/json")).json;
    const expected: Array<[string, string, string]> = [
      ["get", "/api/events", "200"],
      ["get", "/api/events/{id}", "200"],
      ["post", "/api/events/{id}/replay", "201"],
      ["get", "/api/deliveries", "200"],
      ["post", "/api/deliveries/{id}/retry", "200"],
      ["get", "/api/destinations", "200"],
      ["post", "/api/destinations/{name}/retry-dead", "200"],
      ["post", "/api/destinations/{name}/test", "200"],
    ];
    for (const [method, path, ok] of expected) {
      const op = doc.paths[path]?.[method];
      expect({ path, tags: op?.tags }).toEqual({ path, tags: ["admin"] });
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining([ok, "401", "403"]));
    }
    expect(doc.paths["/api/events"].get.parameters.map((p: any) => p.name).sort()).toEqual(["cursor", "limit", "q", "since", "source", "status", "type", "until"]);
  });
});
