import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { postJson, startRelayProcess, type RelayProcess } from "../support/process.ts";
import { tempDir } from "../support/tmp.ts";

// Real processes on a shared machine: each test bounds its own waits, so the runner allows more than 5 s.
const SLOW = 30_000;

// The five integration documents' own examples, sent through the real process. Each receiver verifies
// exactly as its document's snippet does (express.json() gives req.body = JSON.parse(raw bytes)).

const FIXTURES = join(import.meta.dir, "..", "fixtures", "seeds");
const raw = (path: string) => readFileSync(join(FIXTURES, path), "utf8");
const ADMIN = "seeds-admin-token-0123456789";
const SECRET = { aficial: "aficial-secret", aicommerce: "your-webhook-secret", vai: "vai-secret", leads: "leads-signing-key" };

interface Got {
  path: string;
  headers: Record<string, string>;
  rawBody: string;
  body: any;
  valid: boolean;
}

/** Aficial: signature === header.split('=')[1], over JSON.stringify(body). */
function aficialValid(h: Record<string, string>, body: unknown): boolean {
  const signature = crypto.createHmac("sha256", SECRET.aficial).update(JSON.stringify(body)).digest("hex");
  return signature === (h["x-aficial-signature"] ?? "").split("=")[1];
}

/** AICommerce: timingSafeEqual(signature, `sha256=${hmac(JSON.stringify(req.body))}`). */
function aicommerceValid(h: Record<string, string>, body: unknown): boolean {
  const signature = h["x-webhook-signature"] ?? "";
  const expected = crypto.createHmac("sha256", SECRET.aicommerce).update(JSON.stringify(body)).digest("hex");
  const a = Buffer.from(signature);
  const b = Buffer.from(`sha256=${expected}`);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** VAI: timingSafeEqual(signature, hmac(req.rawBody)). */
function vaiValid(h: Record<string, string>, rawBody: string): boolean {
  const expected = crypto.createHmac("sha256", SECRET.vai).update(rawBody).digest("hex");
  const a = Buffer.from(h["x-vai-signature"] ?? "");
  const b = Buffer.from(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Leads: t and v1 from X-Webhook-Signature; hmac(t + '.' + JSON.stringify(req.body)). */
function leadsValid(h: Record<string, string>, body: unknown): boolean {
  const { t, signature } = (h["x-webhook-signature"] ?? "").split(",").reduce(
    (acc, part) => {
      const [key, value] = part.split("=");
      if (key === "t") acc.t = value;
      if (key === "v1") acc.signature = value;
      return acc;
    },
    { t: "", signature: "" },
  );
  if (!t || !signature) return false;
  const data = t + "." + JSON.stringify(body);
  return crypto.createHmac("sha256", SECRET.leads).update(data, "utf8").digest("hex") === signature;
}

const LEADS_ACKS: string[] = JSON.parse(raw("leads/acks.json"));

let tmp: ReturnType<typeof tempDir>;
let server: Server<undefined>;
let relay: RelayProcess;
const got: Got[] = [];
let receiverUrl = "";
const gotAt = (path: string) => got.filter((g) => g.path === path);

async function waitFor(path: string, n: number, ms = 10_000): Promise<Got[]> {
  const until = Date.now() + ms;
  while (gotAt(path).length < n) {
    if (Date.now() > until) throw new Error(`only ${gotAt(path).length} of ${n} requests reached ${path}`);
    await Bun.sleep(20);
  }
  return gotAt(path);
}

const admin = { authorization: `Bearer ${ADMIN}` };
async function adminCall(method: string, path: string, body?: unknown) {
  const res = await fetch(`${relay.url}${path}`, {
    method,
    headers: { ...admin, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

beforeAll(async () => {
  tmp = tempDir("relay-seeds-");
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const headers: Record<string, string> = {};
      request.headers.forEach((v, k) => (headers[k] = v));
      const path = new URL(request.url).pathname;
      const rawBody = await request.text();
      const body = JSON.parse(rawBody);
      const valid =
        path === "/aficial" ? aficialValid(headers, body)
        : path === "/aicommerce" ? aicommerceValid(headers, body)
        : path === "/vai" ? vaiValid(headers, rawBody)
        : leadsValid(headers, body);
      got.push({ path, headers, rawBody, body, valid });
      if (!valid) return Response.json({ error: "Invalid signature" }, { status: 401 });
      if (path === "/leads") return new Response(LEADS_ACKS[0]);
      if (path === "/leads-daily") return new Response(LEADS_ACKS[1]);
      return Response.json({ received: true });
    },
  });
  receiverUrl = `http://127.0.0.1:${server.port}`;
  const config = join(tmp.dir, "relay.yaml");
  writeFileSync(
    config,
    `
server:
  admin_token: \${ADMIN}
storage:
  path: ./data/relay.db
sources:
  aficial:
    kind: typed
  notifications:
    id: notifications-in
    event_type: body.event
  smartflow:
    id: smartflow-in
    variables:
      - { name: order_id, type: string, required: true, description: Bestell-ID }
      - { name: customer_email, type: string, description: Kunden-E-Mail }
      - { name: total, type: number, description: Bestellsumme }
      - { name: items, type: array, description: Bestellartikel }
  agent:
    id: agent-in
    event_type: header.x-vai-event-name
  chatbot:
    id: chatbot-in
    event_type: body.Type
destinations:
  aficial-hook:
    url: ${"${RECEIVER}"}/aficial
    sign: { preset: sha256, header: X-Aficial-Signature, secret: ${SECRET.aficial} }
    event_header: X-Aficial-Event
  aicommerce:
    url: ${"${RECEIVER}"}/aicommerce
    sign: { preset: sha256, header: X-Webhook-Signature, secret: ${SECRET.aicommerce} }
    retry: { attempts: 3, base: 1s, max: 4s }
  vai:
    url: ${"${RECEIVER}"}/vai
    headers: { User-Agent: VAI-Portal-Webhook/1.0 }
    sign: { preset: hex, secret: ${SECRET.vai} }
    event_header: X-VAI-Event
    id_header: X-VAI-Webhook-ID
    timestamp_header: X-VAI-Timestamp
  leads:
    url: ${"${RECEIVER}"}/leads
    sign: { preset: stripe, secret: ${SECRET.leads} }
    ack: { body: ${JSON.stringify(LEADS_ACKS)} }
    retry: [1m, 3m]
  leads-daily:
    url: ${"${RECEIVER}"}/leads-daily
    sign: { preset: stripe, secret: ${SECRET.leads} }
    ack: { body: ${JSON.stringify(LEADS_ACKS)} }
    retry: [1m, 3m]
    digest: { cron: "0 6 * * *", timezone: UTC }
routes:
  - { from: notifications, when: { type: reply.sent }, to: aficial-hook, transform: passthrough }
  - { from: notifications, when: { type: "chat.*" }, to: aicommerce, transform: passthrough }
  - from: smartflow
    to: aicommerce
    transform:
      template:
        event: order.received
        email: "{{ webhook.customer_email }}"
        order: "{{ webhook.order_id }}"
        total: "{{ webhook.total }}"
  - { from: agent, to: vai }
  - { from: chatbot, to: [leads, leads-daily], transform: passthrough }
`,
  );
  relay = await startRelayProcess(config, { ADMIN, RECEIVER: receiverUrl });
}, SLOW);

afterAll(async () => {
  await relay?.kill();
  server?.stop(true);
  tmp?.cleanup();
});

describe("Aficial (000): inbound", () => {
  test("a key made with the document's exact body works on POST /api/webhook; the four bodies are accepted verbatim via x-api-key and Bearer", async () => {
    const created = await adminCall("POST", "/api/api-keys", JSON.parse(raw("aficial/api-key.json")));
    expect(created.status).toBe(201);
    expect(created.json.source).toBe("aficial");
    const replies = JSON.parse(raw("aficial/replies.json"));
    const headerSets: Record<string, Record<string, string>> = JSON.parse(raw("aficial/headers.json").replaceAll("{key}", created.json.key));
    for (const [via, headers] of Object.entries(headerSets)) {
      for (const kind of ["order", "customer", "product", "event"]) {
        const res = await fetch(`${relay.url}/api/webhook`, { method: "POST", headers, body: raw(`aficial/${kind}.json`) });
        const answer = (await res.json()) as any;
        expect({ via, kind, status: res.status }).toEqual({ via, kind, status: 202 });
        expect(answer).toMatchObject(replies[kind]);
        const event = await adminCall("GET", `/api/events/${answer.id}`);
        // Every field is kept.
        expect(event.json.body).toEqual(JSON.parse(raw(`aficial/${kind}.json`)));
        expect(event.json.type).toBe(kind === "event" ? "shipping_delay" : kind);
      }
    }
    const sdk = await postJson(`${relay.url}/api/webhook`, JSON.parse(raw("aficial/sdk-order.json")), { "x-api-key": created.json.key });
    expect(sdk.status).toBe(202);
  }, SLOW);

  test("over the key's rateLimitPerMinute (120) the answer is 429 Too Many Requests with Retry-After", async () => {
    const created = await adminCall("POST", "/api/api-keys", JSON.parse(raw("aficial/api-key.json")));
    const body = raw("aficial/sdk-order.json");
    const statuses: number[] = [];
    let limited: Response | null = null;
    const started = Date.now();
    // Until the first 429: the bucket holds 120 and refills at 2 a second, so a slow machine gets a few more in.
    for (let i = 0; i < 400 && !limited; i++) {
      const res = await fetch(`${relay.url}/api/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": created.json.key }, body });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      await res.arrayBuffer();
    }
    const refilled = Math.floor(((Date.now() - started) / 60_000) * 120);
    const accepted = statuses.filter((s) => s === 202).length;
    expect(statuses.slice(0, 120).every((s) => s === 202)).toBe(true);
    expect(accepted).toBeLessThanOrEqual(120 + refilled);
    expect(accepted).toBe(statuses.length - 1);
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
  }, SLOW);

  test("/api/health keeps the document's shape", async () => {
    const res = await fetch(`${relay.url}/api/health`);
    const health = (await res.json()) as any;
    const seed = JSON.parse(raw("aficial/health.json"));
    expect(res.status).toBe(200);
    expect(Object.keys(health).sort()).toEqual(Object.keys(seed).sort());
    expect(health.status).toBe("healthy");
    for (const check of Object.values(health.checks) as any[]) expect(check.status).toBe("ok");
  }, SLOW);

  test("GET /api/openapi is the OpenAPI document", async () => {
    const res = await fetch(`${relay.url}/api/openapi`);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(((await res.json()) as any).paths["/api/webhook"]).toBeDefined();
  }, SLOW);
});

describe("outbound: each receiver verifies as its document does", () => {
  test("Aficial: the pretty-printed reply.sent example, passed through, verifies over JSON.stringify(body)", async () => {
    const res = await fetch(`${relay.url}/api/webhook/notifications-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: raw("aficial/outbound-reply-sent.json"),
    });
    expect(res.status).toBe(202);
    const [hit] = await waitFor("/aficial", 1);
    expect(hit.valid).toBe(true);
    expect(hit.headers["x-aficial-event"]).toBe("reply.sent");
    expect(hit.rawBody).toBe(JSON.stringify(JSON.parse(hit.rawBody)));
    expect(hit.body).toEqual(JSON.parse(raw("aficial/outbound-reply-sent.json")));
  }, SLOW);

  test("AICommerce: the payload example, passed through, verifies with timingSafeEqual over JSON.stringify(req.body)", async () => {
    const res = await fetch(`${relay.url}/api/webhook/notifications-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: raw("aicommerce/chat-message-received.json"),
    });
    expect(res.status).toBe(202);
    const [hit] = await waitFor("/aicommerce", 1);
    expect(hit.valid).toBe(true);
    expect(hit.body).toEqual(JSON.parse(raw("aicommerce/chat-message-received.json")));
  }, SLOW);

  test("AISmartTalk: the order variables reach a template; a missing required variable is 400 invalid body", async () => {
    const ok = await fetch(`${relay.url}/api/webhook/smartflow-in`, { method: "POST", headers: { "content-type": "application/json" }, body: raw("aismarttalk/order.json") });
    expect(ok.status).toBe(202);
    const hits = await waitFor("/aicommerce", 2);
    expect(hits[1].valid).toBe(true);
    expect(hits[1].body).toEqual({ event: "order.received", email: "max@example.com", order: "A-1001", total: 149.89 });
    const bad = await postJson(`${relay.url}/api/webhook/smartflow-in`, { customer_email: "max@example.com" });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe("invalid body: order_id: required");
  }, SLOW);

  test("VAI: envelope signed over the raw body; X-VAI-Timestamp is Date.now(), X-VAI-Webhook-ID the webhook's id", async () => {
    const before = Date.now();
    const res = await fetch(`${relay.url}/api/webhook/agent-in`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-vai-event-name": "conversation.started" },
      body: raw("vai/conversation-started.json"),
    });
    expect(res.status).toBe(202);
    const [hit] = await waitFor("/vai", 1);
    expect(hit.valid).toBe(true);
    expect(hit.headers["x-vai-event"]).toBe("conversation.started");
    expect(hit.headers["x-vai-webhook-id"]).toBe("vai");
    expect(hit.headers["user-agent"]).toBe("VAI-Portal-Webhook/1.0");
    const ts = Number(hit.headers["x-vai-timestamp"]);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now());
    expect(hit.body).toEqual({ event: "conversation.started", timestamp: expect.any(String), data: JSON.parse(raw("vai/conversation-started.json")) });
  }, SLOW);

  test("VAI: the test webhook carries the document's body and verifies", async () => {
    const res = await adminCall("POST", "/api/destinations/vai/test");
    expect(res.json.delivered).toBe(true);
    const hits = await waitFor("/vai", 2);
    const hit = hits[1];
    expect(hit.valid).toBe(true);
    expect(hit.headers["x-vai-event"]).toBe("webhook.test");
    expect(hit.body).toEqual({
      event: "webhook.test",
      timestamp: expect.any(String),
      data: { test: true, timestamp: hit.body.timestamp, webhookId: "vai", message: "This is a test webhook from Relay" },
    });
  }, SLOW);

  test("Leads: the example pushed at once and in the daily batch; both acknowledgment bodies settle it", async () => {
    const res = await fetch(`${relay.url}/api/webhook/chatbot-in`, { method: "POST", headers: { "content-type": "application/json" }, body: raw("leads/lead.json") });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as any;
    const [push] = await waitFor("/leads", 1);
    expect(push.valid).toBe(true);
    expect(push.body).toEqual(JSON.parse(raw("leads/lead.json")));

    const flush = await adminCall("POST", "/api/digests/leads-daily/flush");
    expect(flush.json.items).toBe(1);
    const [batch] = await waitFor("/leads-daily", 1);
    expect(batch.valid).toBe(true);
    expect(batch.body).toEqual([JSON.parse(raw("leads/lead.json"))]);

    // {"status":"success"} settled the push, {"status":"Success: test request received"} the batch.
    const until = Date.now() + 5000;
    let statuses: string[] = [];
    while (Date.now() < until) {
      const deliveries = (await adminCall("GET", "/api/deliveries?status=delivered")).json.deliveries as any[];
      statuses = deliveries.filter((d) => d.destination.startsWith("leads")).map((d) => d.destination).sort();
      if (statuses.length === 2) break;
      await Bun.sleep(20);
    }
    expect(statuses).toEqual(["leads", "leads-daily"]);
    const event = await adminCall("GET", `/api/events/${id}`);
    expect(event.json.deliveries.find((d: any) => d.destination === "leads").status).toBe("delivered");
  }, SLOW);
});
