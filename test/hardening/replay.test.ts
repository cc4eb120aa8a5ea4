import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { startHarness, T0, type Harness } from "../support/harness.ts";

const SW_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const STRIPE_SECRET = "whsec_stripe_like_raw_secret";
const YAML = `
storage:
  path: ./data/relay.db
sources:
  sw:
    id: sw-1
    verify: { preset: standard-webhooks, secret: "${SW_SECRET}" }
  st:
    id: st-1
    verify: { preset: stripe, secret: "${STRIPE_SECRET}", header: Stripe-Signature }
`;

let h: Harness;
let base: string;
beforeAll(async () => {
  h = await startHarness(YAML);
  base = `http://127.0.0.1:${h.relay.server.port}`;
});
afterAll(() => h.stop());

const ts = Math.floor(T0 / 1000);

/** A real HTTP request, so repeated header lines travel as separate lines. */
async function send(path: string, body: string, lines: Array<[string, string]>) {
  const headers = new Headers({ "content-type": "application/json" });
  for (const [name, value] of lines) headers.append(name, value);
  const res = await fetch(`${base}${path}`, { method: "POST", headers, body });
  return { status: res.status, json: (await res.json()) as any };
}

function swHeaders(id: string, body: string): Array<[string, string]> {
  const signature = new Webhook(SW_SECRET).sign(id, new Date(ts * 1000), body);
  return [["webhook-id", id], ["webhook-timestamp", String(ts)], ["webhook-signature", signature]];
}

const stripeMac = (t: number, body: string) => createHmac("sha256", STRIPE_SECRET).update(`${t}.${body}`).digest("hex");

test("standard-webhooks: a replay with a fresh unsigned Idempotency-Key is the same event", async () => {
  const body = '{"type":"a"}';
  const first = await send("/api/webhook/sw-1", body, [...swHeaders("msg_replay_1", body), ["idempotency-key", "k-1"]]);
  expect(first.status).toBe(202);
  const replay = await send("/api/webhook/sw-1", body, [...swHeaders("msg_replay_1", body), ["idempotency-key", "k-2"]]);
  expect(replay).toEqual({ status: 200, json: expect.objectContaining({ duplicate: true, id: first.json.id }) });
});

test("standard-webhooks: two webhook-signature lines verify, the valid one first", async () => {
  const body = '{"type":"b"}';
  const lines = swHeaders("msg_two_lines", body);
  lines.push(["webhook-signature", `v1,${randomBytes(32).toString("base64")}`]);
  expect((await send("/api/webhook/sw-1", body, lines)).status).toBe(202);
  const other = '{"type":"c"}';
  const reversed = swHeaders("msg_two_lines_b", other);
  reversed.splice(2, 0, ["webhook-signature", `v1,${randomBytes(32).toString("base64")}`]);
  expect((await send("/api/webhook/sw-1", other, reversed)).status).toBe(202);
});

test("stripe: the header's parts in any order", async () => {
  const body = '{"type":"d"}';
  const res = await send("/api/webhook/st-1", body, [["stripe-signature", `v1=${stripeMac(ts, body)},t=${ts}`]]);
  expect(res.status).toBe(202);
  const v0First = await send("/api/webhook/st-1", '{"type":"e"}', [["stripe-signature", `v0=abc,v1=${stripeMac(ts, '{"type":"e"}')},t=${ts}`]]);
  expect(v0First.status).toBe(202);
});

test("stripe: the same signature again inside the tolerance is a duplicate, not a second event", async () => {
  const body = '{"type":"f"}';
  const header: [string, string] = ["stripe-signature", `t=${ts},v1=${stripeMac(ts, body)}`];
  const first = await send("/api/webhook/st-1", body, [header]);
  expect(first.status).toBe(202);
  const replay = await send("/api/webhook/st-1", body, [header, ["idempotency-key", "fresh"]]);
  expect(replay).toEqual({ status: 200, json: expect.objectContaining({ duplicate: true, id: first.json.id }) });
  // A new signature (another second) is a new message.
  const later = await send("/api/webhook/st-1", body, [["stripe-signature", `t=${ts + 1},v1=${stripeMac(ts + 1, body)}`]]);
  expect(later.status).toBe(202);
});
