import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN, admin, createKeyViaApi, startHarness, type Harness } from "../support/harness.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

const secretOf = (created: { id: string; key: string }) => created.key.slice(`rly_live_${created.id}_`.length);

describe("who may use the admin API", () => {
  test("no credentials 401, a wrong token 401, a webhook-only key 403", async () => {
    const body = { name: "x" };
    const none = await h.call("POST", "/api/api-keys", { body });
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ error: "missing API key", code: "unauthorized" });

    const wrongs: Array<Record<string, string>> = [{ authorization: `Bearer ${ADMIN_TOKEN}x` }, { "x-api-key": ADMIN_TOKEN.slice(1) }];
    for (const headers of wrongs) {
      const wrong = await h.call("GET", "/api/api-keys", { headers });
      expect(wrong.status).toBe(401);
      expect(wrong.json).toEqual({ error: "invalid API key", code: "unauthorized" });
    }

    const writer = await createKeyViaApi(h, { name: "writer", scopes: ["webhook:write"] });
    const forbidden = await h.call("DELETE", `/api/api-keys/${writer.id}`, { headers: { "x-api-key": writer.key } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json).toEqual({ error: "API key lacks scope admin", code: "forbidden" });
    expect((await h.call("GET", "/api/api-keys", { headers: admin })).json.keys[0].revokedAt).toBeNull();
  });

  test("credentials are checked before the body is validated", async () => {
    const res = await h.call("POST", "/api/api-keys", { body: { scopes: ["root"] } });
    expect(res.status).toBe(401);
  });

  test("the admin token works as Bearer or x-api-key; an admin-scoped key works too", async () => {
    expect((await h.call("GET", "/api/api-keys", { headers: { "x-api-key": ADMIN_TOKEN } })).status).toBe(200);
    const ops = await createKeyViaApi(h, { name: "ops", scopes: ["admin"] });
    const created = await h.call("POST", "/api/api-keys", { headers: { authorization: `Bearer ${ops.key}` }, body: { name: "by-ops" } });
    expect(created.status).toBe(201);
    expect((await h.call("DELETE", `/api/api-keys/${ops.id}`, { headers: { "x-api-key": ops.key } })).status).toBe(200);
    expect((await h.call("GET", "/api/api-keys", { headers: { "x-api-key": ops.key } })).status).toBe(401);
  });
});

describe("POST /api/api-keys", () => {
  test("201 with the key, shown this once, and the record", async () => {
    const res = await h.call("POST", "/api/api-keys", {
      headers: admin,
      body: { name: "Shop backend", scopes: ["webhook:write"], rateLimitPerMinute: 120, source: "shop" },
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.json).sort()).toEqual(["createdAt", "id", "key", "name", "rateLimitPerMinute", "scopes", "source"]);
    expect(res.json).toMatchObject({
      name: "Shop backend",
      scopes: ["webhook:write"],
      rateLimitPerMinute: 120,
      source: "shop",
      createdAt: new Date(h.clock.now()).toISOString(),
    });
    expect(res.json.key).toStartWith(`rly_live_${res.json.id}_`);
  });

  test("defaults: webhook:write, 600 per minute, bound to the only typed source", async () => {
    const res = await createKeyViaApi(h, { name: "plain" });
    expect(res).toMatchObject({ scopes: ["webhook:write"], rateLimitPerMinute: 600, source: "shop" });
    const admin = await createKeyViaApi(h, { name: "ops", scopes: ["admin"] });
    expect(admin.source).toBeNull();
  });

  test("unknown source, unknown scope and bad fields are 400", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: "x", source: "warehouse" }, /unknown source "warehouse"/],
      [{ name: "x", scopes: ["webhook:read"] }, /unknown scope "webhook:read"; allowed: webhook:write, admin/],
      [{ name: "x", scopes: [] }, /scopes/],
      [{ name: "", scopes: ["admin"] }, /name/],
      [{ name: "x", rateLimitPerMinute: 0 }, /rateLimitPerMinute/],
      [{ name: "x", rateLimitPerMinute: 2.5 }, /rateLimitPerMinute/],
    ];
    for (const [body, message] of cases) {
      const res = await h.call("POST", "/api/api-keys", { headers: admin, body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.json.error).toMatch(message);
    }
    expect((await h.call("GET", "/api/api-keys", { headers: admin })).json.keys).toEqual([]);
  });
});

describe("GET /api/api-keys", () => {
  test("lists every key with its state, never a secret or a hash", async () => {
    const a = await createKeyViaApi(h, { name: "a", source: "shop" });
    h.clock.advance(1000);
    const b = await createKeyViaApi(h, { name: "b", scopes: ["admin", "webhook:write"], source: null });
    await h.call("POST", "/api/webhook", { headers: { "x-api-key": a.key }, body: { type: "order", order: { order_number: "1" } } });
    await h.call("DELETE", `/api/api-keys/${b.id}`, { headers: admin });

    const res = await h.call("GET", "/api/api-keys", { headers: admin });
    expect(res.status).toBe(200);
    const at = (ms: number) => new Date(ms).toISOString();
    expect(res.json.keys).toEqual([
      {
        id: a.id,
        prefix: `rly_live_${a.id}_`,
        name: "a",
        scopes: ["webhook:write"],
        rateLimitPerMinute: 600,
        source: "shop",
        createdAt: at(h.clock.now() - 1000),
        lastUsedAt: at(h.clock.now()),
        revokedAt: null,
      },
      {
        id: b.id,
        prefix: `rly_live_${b.id}_`,
        name: "b",
        scopes: ["admin", "webhook:write"],
        rateLimitPerMinute: 600,
        source: null,
        createdAt: at(h.clock.now()),
        lastUsedAt: null,
        revokedAt: at(h.clock.now()),
      },
    ]);
    for (const created of [a, b]) {
      expect(res.text).not.toContain(secretOf(created));
      expect(res.text).not.toContain(createHash("sha256").update(secretOf(created)).digest("hex"));
    }
  });
});

describe("DELETE /api/api-keys/:id", () => {
  test("revokes at once; an unknown id is 404", async () => {
    const k = await createKeyViaApi(h, { name: "shop", source: "shop" });
    const res = await h.call("DELETE", `/api/api-keys/${k.id}`, { headers: admin });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ revoked: true });
    const use = await h.call("POST", "/api/webhook", { headers: { "x-api-key": k.key }, body: { type: "order", order: { order_number: "1" } } });
    expect(use.status).toBe(401);
    const unknown = await h.call("DELETE", "/api/api-keys/nosuchkey0", { headers: admin });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: "unknown API key", code: "not_found" });
  });
});

test("the OpenAPI document lists the key endpoints under admin and both ingest routes", async () => {
  const res = await h.call("GET", "/api/openapi/json");
  expect(res.status).toBe(200);
  const paths = res.json.paths;
  expect(paths["/api/api-keys"].post.tags).toEqual(["admin"]);
  expect(paths["/api/api-keys"].get.tags).toEqual(["admin"]);
  expect(paths["/api/api-keys/{id}"].delete.tags).toEqual(["admin"]);
  expect(Object.keys(paths["/api/api-keys"].post.responses)).toContain("201");
  expect(paths["/api/webhook"].post.tags).toEqual(["ingest"]);
  expect(Object.keys(paths["/api/webhook"].post.responses)).toContain("429");
});

test("after create, use, rate limit, revoke and misuse, no log line carries a key secret or the admin token", async () => {
  const created = await createKeyViaApi(h, { name: "shop", source: "shop", rateLimitPerMinute: 1 });
  const body = { type: "order", order: { order_number: "1" } };
  expect((await h.call("POST", "/api/webhook", { headers: { "x-api-key": created.key }, body })).status).toBe(202);
  expect((await h.call("POST", "/api/webhook", { headers: { authorization: `Bearer ${created.key}` }, body })).status).toBe(429);
  expect((await h.call("POST", "/api/webhook/chat-url-id", { headers: { "x-api-key": created.key }, body })).status).toBe(403);
  expect((await h.call("DELETE", `/api/api-keys/${created.id}`, { headers: admin })).status).toBe(200);
  expect((await h.call("POST", "/api/webhook", { headers: { "x-api-key": created.key }, body })).status).toBe(401);
  expect((await h.call("GET", "/api/api-keys", { headers: { "x-api-key": `${ADMIN_TOKEN}-wrong` } })).status).toBe(401);

  const log = h.lines.join("\n");
  // The flow did log: the id is there, so the absence checks below look at real lines.
  expect(log).toContain('"api key created"');
  expect(log).toContain('"api key revoked"');
  expect(log).toContain(created.id);
  expect(log).not.toContain(secretOf(created));
  expect(log).not.toContain(ADMIN_TOKEN);
});

describe("a key created without a source is usable, or refused saying what is missing", () => {
  const aficialBody = JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/seeds/aficial/api-key.json"), "utf8"));

  test("the Aficial document's exact body binds to the only typed source and ingests on POST /api/webhook", async () => {
    const res = await h.call("POST", "/api/api-keys", { headers: admin, body: aficialBody });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ name: "Shop webhook", scopes: ["webhook:write"], rateLimitPerMinute: 120, source: "shop" });
    const use = await h.call("POST", "/api/webhook", { headers: { "x-api-key": res.json.key }, body: { type: "order", order: { order_number: "4521" } } });
    expect(use.status).toBe(202);
  });

  const twoTyped = (extra: string) => `
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
storage:
  path: ./data/relay.db
sources:
  shop: { kind: typed }
  outlet: { kind: typed }
${extra}`;

  test("several candidate sources: 400 naming them, and no key is stored", async () => {
    const two = await startHarness(twoTyped(""));
    try {
      const res = await two.call("POST", "/api/api-keys", { headers: admin, body: aficialBody });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('"source" is required: POST /api/webhook ingests into the key\'s source, and several typed sources could take it (shop, outlet)');
      expect((await two.call("GET", "/api/api-keys", { headers: admin })).json.keys).toEqual([]);
    } finally {
      await two.stop();
    }
  });

  test("source null is refused when no source requires a key, accepted when one does", async () => {
    const none = await startHarness(twoTyped(""));
    const one = await startHarness(twoTyped("  chat: { require_api_key: true }\n"));
    try {
      const refused = await none.call("POST", "/api/api-keys", { headers: admin, body: { ...aficialBody, source: null } });
      expect(refused.status).toBe(400);
      expect(refused.json.error).toContain("works only on the URL of a source with require_api_key");
      const accepted = await one.call("POST", "/api/api-keys", { headers: admin, body: { ...aficialBody, source: null } });
      expect(accepted.status).toBe(201);
      expect(accepted.json.source).toBeNull();
    } finally {
      await none.stop();
      await one.stop();
    }
  });
});
