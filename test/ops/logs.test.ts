import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { ADMIN_TOKEN, admin, startHarness, type Harness } from "../support/harness.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";

// One full flow with every kind of secret in play; the log must tell the story without any of them.

const SHOP_SECRET = `shop-${randomBytes(12).toString("hex")}`;
const CRM_TOKEN = `crm-${randomBytes(12).toString("hex")}`;
const SIGNING_KEY = randomBytes(24).toString("base64");
const DEST_SECRET = `whsec_${SIGNING_KEY}`;
const METRICS_TOKEN = `mtr-${randomBytes(12).toString("hex")}`;
const VAULT_PASS = `pw${randomBytes(8).toString("hex")}`;
const VAULT_KEY = `qk${randomBytes(8).toString("hex")}`;

let receiver: Receiver;
let h: Harness;
let lines: string[];
let apiKey: string;

beforeAll(async () => {
  let calls = 0;
  receiver = startReceiver(() => (++calls <= 2 ? new Response("busy", { status: 500 }) : new Response("ok")));
  const yaml = `
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
  metrics_token: \${METRICS_TOKEN}
storage:
  path: ./data/relay.db
sources:
  shop:
    id: shop-url-id
    event_type: body.type
    verify: { preset: sha256, header: X-Hub-Signature-256, secret: "\${SHOP_SECRET}" }
  keyed:
    id: keyed-url-id
    event_type: body.type
    require_api_key: true
destinations:
  crm:
    url: ${receiver.url}/crm
    headers: { Authorization: "Bearer \${CRM_TOKEN}" }
    sign: { preset: standard-webhooks, secret: "\${DEST_SECRET}" }
    concurrency: 1
    retry: [1s, 1s, 1s]
    circuit: { failures: 2, probe: 5s }
  vault:
    url: "http://relay:\${VAULT_PASS}@127.0.0.1:9/hook?key=\${VAULT_KEY}"
    retry: [1s]
routes:
  - from: [shop, keyed]
    to: [crm, vault]
`;
  h = await startHarness(yaml, { SHOP_SECRET, CRM_TOKEN, DEST_SECRET, METRICS_TOKEN, VAULT_PASS, VAULT_KEY });
  lines = h.lines;

  const created = await h.call("POST", "/api/api-keys", { headers: admin, body: { name: "chatbot", source: "keyed" } });
  expect(created.status).toBe(201);
  apiKey = created.json.key;
  expect((await h.call("GET", "/api/api-keys", { headers: { authorization: `Bearer ${ADMIN_TOKEN}-wrong` } })).status).toBe(401);

  const body = JSON.stringify({ type: "order.created", id: 1 });
  const signature = `sha256=${createHmac("sha256", SHOP_SECRET).update(body).digest("hex")}`;
  expect((await h.call("POST", "/api/webhook/shop-url-id", { body, headers: { "x-hub-signature-256": signature } })).status).toBe(202);
  expect((await h.call("POST", "/api/webhook/shop-url-id", { body, headers: { "x-hub-signature-256": `${signature.slice(0, -2)}00` } })).status).toBe(401);
  expect((await h.call("POST", "/api/webhook/keyed-url-id", { body: { type: "chat.lead" }, headers: { "x-api-key": apiKey } })).status).toBe(202);
  expect((await h.call("POST", "/api/webhook", { body: { type: "chat.lead" }, headers: { authorization: `Bearer ${apiKey}` } })).status).toBe(202);
  expect((await h.call("POST", "/api/webhook", { body: { type: "chat.lead" }, headers: { "x-api-key": `${apiKey}x` } })).status).toBe(401);

  await h.relay.worker.runOnce(); // crm: two 500s open the circuit; vault: refused
  expect(h.relay.worker.destinationState("crm")).toBe("open");
  h.clock.advance(5_000);
  await h.relay.worker.runOnce(); // the probe succeeds, the rest follow; vault fails for good
  expect(h.relay.worker.destinationState("crm")).toBe("closed");

  expect((await h.call("POST", "/api/destinations/crm/pause", { headers: admin })).status).toBe(200);
  expect((await h.call("POST", "/api/destinations/crm/resume", { headers: admin })).status).toBe(200);
  const metrics = await h.relay.app.handle(new Request("http://localhost/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }));
  expect(metrics.status).toBe(200);
  await h.stop();
});

afterAll(() => {
  receiver.stop();
});

const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string; level: string; time: string });
const withMsg = (msg: string) => records().filter((r) => r.msg === msg);

test("the secrets were really used: the receiver saw the header secret and a signature", () => {
  const seen = receiver.received.at(-1)!;
  expect(seen.headers.authorization).toBe(`Bearer ${CRM_TOKEN}`);
  expect(seen.headers["webhook-signature"]).toStartWith("v1,");
});

test("no log line contains a secret", () => {
  const keySecret = apiKey.slice("rly_live_".length + 11);
  const secrets = { ADMIN_TOKEN, SHOP_SECRET, CRM_TOKEN, DEST_SECRET, SIGNING_KEY, METRICS_TOKEN, VAULT_PASS, VAULT_KEY, apiKey, keySecret };
  const text = lines.join("\n");
  expect(lines.length).toBeGreaterThan(10);
  for (const [name, secret] of Object.entries(secrets)) {
    expect(secret.length).toBeGreaterThan(8);
    if (text.includes(secret)) throw new Error(`${name} appears in the log`);
  }
});

test("every line is one JSON object with time, level and msg", () => {
  for (const r of records()) {
    expect(typeof r.msg).toBe("string");
    expect(["debug", "info", "warn", "error"]).toContain(r.level);
    expect(new Date(r.time).toISOString()).toBe(r.time);
  }
});

test("one line per received event, naming the event", () => {
  const received = withMsg("event received");
  expect(received).toHaveLength(3);
  expect(new Set(received.map((r) => r.event)).size).toBe(3);
});

test("one line per attempt, carrying its delivery, attempt number and outcome", () => {
  const attemptLines = records().filter((r) => ["delivered", "attempt failed", "delivery dead"].includes(r.msg));
  const crm = attemptLines.filter((r) => r.destination === "crm");
  expect(crm).toHaveLength(receiver.received.length);
  expect(crm.map((r) => r.msg).sort()).toEqual(["attempt failed", "attempt failed", "delivered", "delivered", "delivered"]);
  const vault = attemptLines.filter((r) => r.destination === "vault");
  expect(vault.map((r) => [r.msg, r.attempt])).toEqual([
    ["attempt failed", 1],
    ["attempt failed", 1],
    ["attempt failed", 1],
    ["delivery dead", 2],
    ["delivery dead", 2],
    ["delivery dead", 2],
  ]);
  for (const r of attemptLines) expect(r.delivery).toStartWith("dlv_");
});

test("one line per state change of the crm destination, in order", () => {
  const changes = records()
    .filter((r) => r.destination === "crm" && /^(circuit|destination) /.test(r.msg))
    .map((r) => r.msg);
  expect(changes).toEqual(["circuit open", "circuit probing", "circuit closed", "destination paused", "destination resumed"]);
});
