import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sign as octokitSign } from "@octokit/webhooks-methods";
import { startHarness, type Harness } from "../support/harness.ts";
import type { SqliteStore } from "../../src/store/store.ts";

const YAML = `
storage:
  path: ./data/relay.db
sources:
  shop:
    id: shop-1
    kind: typed
  bot:
    id: bot-1
    max_body: 1kb
    event_type: body.event
    variables:
      - { name: email, type: string, required: true, path: user.email }
      - { name: score, type: number, required: false }
  gh:
    id: gh-1
    event_type: header.x-github-event
    verify: { preset: sha256, secret: gh-secret-1, header: X-Hub-Signature-256 }
destinations:
  crm: { url: "http://127.0.0.1:9/crm" }
  slack: { url: "http://127.0.0.1:9/slack" }
  analytics: { url: "http://127.0.0.1:9/analytics" }
routes:
  - name: orders
    from: shop
    when: { type: order }
    to: [crm, slack]
  - name: bot-messages
    from: bot
    when: { type: "chat.*", match: [{ path: body.score, gte: 5 }] }
    to: analytics
    transform: { jsonata: "$error('boom')" }
  - name: bot-all
    from: bot
    when: { type: "chat.*" }
    to: crm
    transform: passthrough
  - name: pushes
    from: gh
    when: { type: push }
    to: crm
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness(YAML);
});
afterAll(() => h.stop());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) => h.call("POST", path, { body, headers });
const rows = (sql: string, params: Record<string, string> = {}) => (h.relay.store as SqliteStore).sqlite.query(sql).all(params) as any[];
const order = { type: "order", order: { orderNumber: "4521", status: "paid", total: 99.5, items: [{ sku: "A1", qty: 1, price: 99.5 }] } };

describe("accepted events", () => {
  test("202 with the event id; the event and one outbox row per (route, destination) are stored", async () => {
    const res = await post("/api/webhook/shop-1", order);
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ success: true, message: "Order data received", id: expect.stringMatching(/^evt_[0-9A-Z]{26}$/) });
    const [event] = rows("SELECT source, type, body FROM events WHERE id = $id", { id: res.json.id });
    expect(event).toEqual({ source: "shop", type: "order", body: JSON.stringify(order) });
    const outbox = rows("SELECT route, destination, status, body FROM deliveries WHERE event_id = $id ORDER BY destination", { id: res.json.id });
    expect(outbox.map((d) => [d.route, d.destination, d.status])).toEqual([
      ["orders", "crm", "pending"],
      ["orders", "slack", "pending"],
    ]);
    const envelope = JSON.parse(outbox[0].body);
    expect(envelope).toEqual({ event: "order", timestamp: new Date(h.clock.now()).toISOString(), data: order });
  });

  test("an event matching no route is stored with zero deliveries", async () => {
    const res = await post("/api/webhook/shop-1", { type: "customer", customer: { email: "a@b.c" } });
    expect(res.status).toBe(202);
    expect(res.json.message).toBe("Customer data received");
    expect(rows("SELECT id FROM events WHERE id = $id", { id: res.json.id })).toHaveLength(1);
    expect(rows("SELECT id FROM deliveries WHERE event_id = $id", { id: res.json.id })).toHaveLength(0);
  });

  test("a failing transform marks only its own delivery dead, with the reason", async () => {
    const raw = '{ "event": "chat.message",  "user": {"email": "zoë@example.com"}, "score": 7 }';
    const res = await post("/api/webhook/bot-1", raw);
    expect(res.status).toBe(202);
    const outbox = rows("SELECT route, status, body, last_error AS error FROM deliveries WHERE event_id = $id ORDER BY route", { id: res.json.id });
    expect(outbox).toEqual([
      { route: "bot-all", status: "pending", body: raw, error: null },
      { route: "bot-messages", status: "dead", body: "", error: expect.stringContaining("transform failed") },
    ]);
  });

  test("a repeated Idempotency-Key returns the first id with 200 and enqueues nothing", async () => {
    const first = await post("/api/webhook/shop-1", order, { "idempotency-key": "order-4521-paid" });
    const again = await post("/api/webhook/shop-1", order, { "idempotency-key": "order-4521-paid" });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    expect(rows("SELECT count(*) AS n FROM events WHERE idempotency_key = 'order-4521-paid'")[0].n).toBe(1);
    expect(rows("SELECT count(*) AS n FROM deliveries WHERE event_id = $id", { id: first.json.id })[0].n).toBe(2);
  });

  test("a signed sender is accepted and its event type read from a header", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main" });
    const signature = await octokitSign("gh-secret-1", body);
    const res = await post("/api/webhook/gh-1", body, { "x-hub-signature-256": signature, "x-github-event": "push" });
    expect(res.status).toBe(202);
    const [event] = rows("SELECT type, headers FROM events WHERE id = $id", { id: res.json.id });
    expect(event.type).toBe("push");
    // The signature header is not kept with the event.
    expect(JSON.parse(event.headers)).not.toHaveProperty("x-hub-signature-256");
  });
});

describe("rejected requests say what is wrong and store nothing", () => {
  const cases: Array<[string, () => Promise<{ status: number; json: any }>, number, RegExp]> = [
    ["unknown source", () => post("/api/webhook/nope", order), 404, /unknown source/],
    [
      "no JSON content type",
      () => h.call("POST", "/api/webhook/shop-1", { body: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" } }),
      415,
      /application\/json/,
    ],
    ["malformed JSON", () => post("/api/webhook/shop-1", '{"type": "order",'), 400, /^malformed JSON: .+/],
    ["body over the source limit", () => post("/api/webhook/bot-1", { event: "chat.x", user: { email: "a" }, pad: "x".repeat(2000) }), 413, /1024-byte limit/],
    ["declared length over the limit", () => post("/api/webhook/bot-1", "{}", { "content-length": "5000000" }), 413, /limit/],
    [
      "typed envelope with bad fields",
      () => post("/api/webhook/shop-1", { type: "order", order: [{ qty: "one", price: 1 }] }),
      400,
      /^invalid body: order: expected object, got array$/,
    ],
    [
      "every failing variable listed",
      () => post("/api/webhook/bot-1", { event: "chat.x", score: "high" }),
      400,
      /email: required.*score: expected number, got string/,
    ],
    [
      "wrong signature",
      () => post("/api/webhook/gh-1", '{"ref":"x"}', { "x-hub-signature-256": "sha256=" + "0".repeat(64), "x-github-event": "push" }),
      401,
      /^invalid signature$/,
    ],
    ["missing signature", () => post("/api/webhook/gh-1", '{"ref":"x"}', { "x-github-event": "push" }), 401, /^invalid signature$/],
    ["unknown route", () => h.call("GET", "/api/nothing-here"), 404, /no route for GET \/api\/nothing-here/],
    ["body not valid UTF-8", () => postBytes("/api/webhook/shop-1", NOT_UTF8), 400, /^body is not valid UTF-8$/],
  ];

  test.each(cases)("%s", async (_name, send, status, message) => {
    const before = rows("SELECT count(*) AS n FROM events")[0].n;
    const res = await send();
    expect(res.status).toBe(status);
    expect(Object.keys(res.json)).toEqual(["error", "code"]);
    expect(res.json.error).toMatch(message);
    expect(rows("SELECT count(*) AS n FROM events")[0].n).toBe(before);
  });
});

test("a request after one with invalid UTF-8 is read afresh", async () => {
  expect((await postBytes("/api/webhook/shop-1", NOT_UTF8)).status).toBe(400);
  const res = await post("/api/webhook/shop-1", order);
  expect(res.status).toBe(202);
  expect(rows("SELECT body FROM events WHERE id = $id", { id: res.json.id })[0].body).toBe(JSON.stringify(order));
});

describe("health and OpenAPI", () => {
  test("health reports database, writer thread, disk and outbox in the seed's shape", async () => {
    const res = await h.call("GET", "/api/health");
    expect(res.status).toBe(200);
    const ok = { status: "ok", ms: expect.any(Number) };
    expect(res.json).toEqual({
      status: "healthy",
      uptime: expect.any(Number),
      totalMs: expect.any(Number),
      checks: {
        database: ok,
        writer: ok,
        storage: { ...ok, freeBytes: expect.any(Number) },
        outbox: expect.objectContaining({ ...ok, oldestPendingSeconds: expect.any(Number) }),
      },
      version: expect.any(String),
    });
  });

  test("health is 503 when the database cannot answer", async () => {
    const broken = await startHarness(YAML);
    (broken.relay.store as SqliteStore).sqlite.close();
    const res = await broken.call("GET", "/api/health");
    expect(res.status).toBe(503);
    expect(res.json.status).toBe("unhealthy");
    expect(res.json.checks.database.status).toBe("failed");
    await broken.stop().catch(() => {});
  });

  test("the OpenAPI document lists ingest and health with their schemas", async () => {
    const res = await h.call("GET", "/api/openapi");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toMatch(/^3\./);
    expect((await h.call("GET", "/api/openapi/json")).json).toEqual(res.json);
    const ingest = res.json.paths["/api/webhook/{source}"].post;
    expect(ingest.requestBody.content["application/json"]).toBeDefined();
    expect(Object.keys(ingest.responses)).toEqual(expect.arrayContaining(["202", "400", "404", "413", "415"]));
    expect(res.json.paths["/api/health"].get.responses["200"]).toBeDefined();
    const page = await h.call("GET", "/api/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    // Offline: the page loads nothing from elsewhere and reads the document by a relative path.
    expect(page.text).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(page.text).not.toContain("cdn");
    expect(page.text).toContain('fetch("openapi")');
  });
});

// `{"type":"order","note":"` + a lone 0xFF byte + `"}`: JSON-shaped, but not UTF-8.
const NOT_UTF8 = new Uint8Array([...new TextEncoder().encode('{"type":"order","note":"'), 0xff, ...new TextEncoder().encode('"}')]);

async function postBytes(path: string, bytes: Uint8Array): Promise<{ status: number; json: any }> {
  const res = await h.relay.app.handle(
    new Request(`http://localhost${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: bytes }),
  );
  return { status: res.status, json: await res.json() };
}

