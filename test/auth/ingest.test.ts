import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { admin, createKeyViaApi, startHarness, type Harness } from "../support/harness.ts";
import type { SqliteStore } from "../../src/store/store.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

const order = { type: "order", order: { order_number: "A-1001", total: 49.9 } };

function events() {
  return (h.relay.store as SqliteStore).sqlite.query("SELECT id, source, type FROM events ORDER BY id").all() as Array<{ id: string; source: string; type: string }>;
}

describe("POST /api/webhook (the key names the source)", () => {
  test("a key bound to a source ingests into that source", async () => {
    const { key } = await createKeyViaApi(h, { name: "shop", scopes: ["webhook:write"], source: "shop" });
    const res = await h.call("POST", "/api/webhook", { headers: { "x-api-key": key }, body: order });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ success: true, message: "Order data received" });
    expect(res.json.id).toMatch(/^evt_/);
    expect(events()).toEqual([{ id: res.json.id, source: "shop", type: "order" }]);
  });

  test("Authorization: Bearer works the same way", async () => {
    const { key } = await createKeyViaApi(h, { name: "crm", source: "crm" });
    const res = await h.call("POST", "/api/webhook", { headers: { authorization: `Bearer ${key}` }, body: { type: "lead" } });
    expect(res.status).toBe(202);
    expect(events().map((e) => e.source)).toEqual(["crm"]);
  });

  test("an unbound key cannot pick a source here", async () => {
    const { key } = await createKeyViaApi(h, { name: "any", scopes: ["webhook:write"], source: null });
    const res = await h.call("POST", "/api/webhook", { headers: { "x-api-key": key }, body: order });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: "API key is not bound to a source", code: "bad_request" });
    expect(events()).toEqual([]);
  });

  test("missing 401; unknown id and wrong secret give the identical 401", async () => {
    const { key, id } = await createKeyViaApi(h, { name: "shop", source: "shop" });
    const missing = await h.call("POST", "/api/webhook", { body: order });
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ error: "missing API key", code: "unauthorized" });

    const secret = key.slice(`rly_live_${id}_`.length);
    const unknownId = await h.call("POST", "/api/webhook", { headers: { "x-api-key": `rly_live_0000000000_${secret}` }, body: order });
    const wrongSecret = await h.call("POST", "/api/webhook", {
      headers: { "x-api-key": `rly_live_${id}_${"A".repeat(secret.length)}` },
      body: order,
    });
    const garbage = await h.call("POST", "/api/webhook", { headers: { authorization: "Bearer hunter2" }, body: order });
    for (const res of [unknownId, wrongSecret, garbage]) {
      expect(res.status).toBe(401);
      expect(res.text).toBe('{"error":"invalid API key","code":"unauthorized"}');
    }
    expect(events()).toEqual([]);
  });

  test("a revoked key is refused at once, with the same answer as an unknown one", async () => {
    const { key, id } = await createKeyViaApi(h, { name: "shop", source: "shop" });
    expect((await h.call("POST", "/api/webhook", { headers: { "x-api-key": key }, body: order })).status).toBe(202);
    expect((await h.call("DELETE", `/api/api-keys/${id}`, { headers: admin })).status).toBe(200);
    const res = await h.call("POST", "/api/webhook", { headers: { "x-api-key": key }, body: order });
    expect(res.status).toBe(401);
    expect(res.text).toBe('{"error":"invalid API key","code":"unauthorized"}');
    expect(events()).toHaveLength(1);
  });

  test("a key without webhook:write gets 403", async () => {
    const { key } = await createKeyViaApi(h, { name: "ops", scopes: ["admin"], source: "shop" });
    const res = await h.call("POST", "/api/webhook", { headers: { "x-api-key": key }, body: order });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: "API key lacks scope webhook:write", code: "forbidden" });
    expect(events()).toEqual([]);
  });

  test("the key is checked before the body: an anonymous caller learns nothing about content rules", async () => {
    const res = await h.call("POST", "/api/webhook", { headers: { "content-type": "text/plain" }, body: "hi" });
    expect(res.status).toBe(401);
  });
});

describe("POST /api/webhook/:source", () => {
  test("a source without requireApiKey stays open", async () => {
    const res = await h.call("POST", "/api/webhook/crm-url-id", { body: { type: "lead" } });
    expect(res.status).toBe(202);
  });

  test("a source with requireApiKey needs a key bound to it or unbound", async () => {
    const url = "/api/webhook/chat-url-id";
    const body = { type: "chat.message" };
    expect((await h.call("POST", url, { body })).json).toEqual({ error: "missing API key", code: "unauthorized" });

    const other = await createKeyViaApi(h, { name: "shop", source: "shop" });
    const forbidden = await h.call("POST", url, { headers: { "x-api-key": other.key }, body });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json).toEqual({ error: "API key is not allowed for this source", code: "forbidden" });

    const unbound = await createKeyViaApi(h, { name: "any", source: null });
    expect((await h.call("POST", url, { headers: { "x-api-key": unbound.key }, body })).status).toBe(202);
    const bound = await createKeyViaApi(h, { name: "chat", source: "chat" });
    expect((await h.call("POST", url, { headers: { authorization: `Bearer ${bound.key}` }, body })).status).toBe(202);
    expect(events().map((e) => e.source)).toEqual(["chat", "chat"]);
  });

  test("a key bound to a source works on its URL and on /api/webhook alike", async () => {
    const chat = await createKeyViaApi(h, { name: "chat", source: "chat" });
    const res = await h.call("POST", "/api/webhook/chat-url-id", { headers: { "x-api-key": chat.key }, body: { type: "x" } });
    expect(res.status).toBe(202);
    const viaKey = await h.call("POST", "/api/webhook", { headers: { "x-api-key": chat.key }, body: { type: "x" } });
    expect(viaKey.status).toBe(202);
    expect(events().map((e) => e.source)).toEqual(["chat", "chat"]);
  });
});

describe("per-key rate limit", () => {
  test("over the limit: 429 with Retry-After, nothing stored; allowed again once the window refills", async () => {
    const { key } = await createKeyViaApi(h, { name: "shop", source: "shop", rateLimitPerMinute: 2 });
    const send = () => h.call("POST", "/api/webhook", { headers: { "x-api-key": key }, body: order });
    expect((await send()).status).toBe(202);
    expect((await send()).status).toBe(202);
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    expect(limited.json).toEqual({ error: "rate limit of 2 requests per minute exceeded", code: "rate_limited" });
    expect(events()).toHaveLength(2);

    h.clock.advance(29_000);
    expect((await send()).headers.get("retry-after")).toBe("1");
    h.clock.advance(1_000);
    expect((await send()).status).toBe(202);

    h.clock.advance(60_000);
    expect((await send()).status).toBe(202);
    expect((await send()).status).toBe(202);
    expect((await send()).status).toBe(429);
    expect(events()).toHaveLength(5);
  });

  test("each key has its own allowance", async () => {
    const a = await createKeyViaApi(h, { name: "a", source: "shop", rateLimitPerMinute: 1 });
    const b = await createKeyViaApi(h, { name: "b", source: "shop", rateLimitPerMinute: 1 });
    expect((await h.call("POST", "/api/webhook", { headers: { "x-api-key": a.key }, body: order })).status).toBe(202);
    expect((await h.call("POST", "/api/webhook", { headers: { "x-api-key": a.key }, body: order })).status).toBe(429);
    expect((await h.call("POST", "/api/webhook", { headers: { "x-api-key": b.key }, body: order })).status).toBe(202);
  });
});
