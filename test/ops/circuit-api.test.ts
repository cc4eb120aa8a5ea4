import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { admin, ADMIN_TOKEN, createKeyViaApi, startHarness, type Harness } from "../support/harness.ts";
import type { SqliteStore } from "../../src/store/store.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

const attemptsOf = (id: string) =>
  (h.relay.store as SqliteStore).sqlite.query("SELECT attempts, status FROM deliveries WHERE event_id = $id").get({ id }) as { attempts: number; status: string };

describe("POST /api/destinations/:name/pause and /resume", () => {
  test("pause stops deliveries without spending attempts; resume sends them", async () => {
    const paused = await h.call("POST", "/api/destinations/sink/pause", { headers: admin });
    expect(paused.status).toBe(200);
    expect(paused.json).toEqual({ name: "sink", state: "paused" });
    expect(h.relay.worker.destinationState("sink")).toBe("paused");

    const accepted = await h.call("POST", "/api/webhook/crm-url-id", { body: { type: "lead.created" } });
    expect(accepted.status).toBe(202);
    expect(await h.relay.worker.runOnce()).toBe(0);
    h.clock.advance(3 * 86_400_000);
    expect(await h.relay.worker.runOnce()).toBe(0);
    expect(attemptsOf(accepted.json.id)).toEqual({ attempts: 0, status: "pending" });

    const resumed = await h.call("POST", "/api/destinations/sink/resume", { headers: admin });
    expect(resumed.status).toBe(200);
    expect(resumed.json).toEqual({ name: "sink", state: "closed" });
    // The sink refuses connections: the point is only that an attempt is made again.
    expect(await h.relay.worker.runOnce()).toBe(1);
    expect(attemptsOf(accepted.json.id)).toMatchObject({ attempts: 1 });
  });

  test("pausing twice is harmless; an admin-scoped API key may pause too", async () => {
    const { key } = await createKeyViaApi(h, { name: "ops", scopes: ["admin"] });
    expect((await h.call("POST", "/api/destinations/sink/pause", { headers: { "x-api-key": key } })).json).toEqual({ name: "sink", state: "paused" });
    expect((await h.call("POST", "/api/destinations/sink/pause", { headers: admin })).json).toEqual({ name: "sink", state: "paused" });
  });

  test("unknown destination: 404, and nothing is recorded for it", async () => {
    const res = await h.call("POST", "/api/destinations/nope/pause", { headers: admin });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'unknown destination "nope"', code: "not_found" });
    expect(h.relay.worker.destinationState("nope")).toBe("closed");
  });

  test.each([
    ["no credentials", {}, 401, "missing API key"],
    ["a wrong admin token", { authorization: `Bearer ${ADMIN_TOKEN}x` }, 401, "invalid API key"],
    ["an unknown API key", { "x-api-key": "rly_live_AAAAAAAAAA_notarealsecret" }, 401, "invalid API key"],
  ])("%s: %d", async (_, headers, status, error) => {
    for (const action of ["pause", "resume"]) {
      const res = await h.call("POST", `/api/destinations/sink/${action}`, { headers: headers as Record<string, string> });
      expect(res.status).toBe(status);
      expect(res.json).toEqual({ error, code: "unauthorized" });
    }
    expect(h.relay.worker.destinationState("sink")).toBe("closed");
  });

  test("a key with only webhook:write is forbidden", async () => {
    const { key } = await createKeyViaApi(h, { name: "ingest", scopes: ["webhook:write"] });
    const res = await h.call("POST", "/api/destinations/sink/pause", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: "API key lacks scope admin", code: "forbidden" });
    expect(h.relay.worker.destinationState("sink")).toBe("closed");
  });

  test("both routes are in the OpenAPI document, tagged admin, with their response schema", async () => {
    const doc = (await h.call("GET", "/api/openapi/json")).json;
    for (const action of ["pause", "resume"]) {
      const op = doc.paths[`/api/destinations/{name}/${action}`]?.post;
      expect(op?.tags).toEqual(["admin"]);
      const schema = op.responses["200"].content["application/json"].schema;
      expect(Object.keys(schema.properties).sort()).toEqual(["name", "state"]);
      expect(Object.keys(op.responses).sort()).toEqual(["200", "401", "403", "404", "429"]);
    }
  });
});
