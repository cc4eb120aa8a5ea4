// Two real `relay serve` processes on one PostgreSQL schema: a destination disabled on one is disabled on both and
// a resume on either turns it back on; signed-id and idempotency-key dedupe hold across them; a dashboard session
// started on one works on the other, and a revoked key or a sign-out ends it on both.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { postgresEnabled, testSchema } from "../support/postgres.ts";
import { postJson, startRelayProcess, type RelayProcess } from "../support/process.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";

const enabled = postgresEnabled();
const run = enabled ? test : test.skip;
const ADMIN = "instances-admin-token-123456";
const admin = { authorization: `Bearer ${ADMIN}` };
const SW_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const STRIPE_SECRET = "whsec_stripe_shared_secret";

let tmp: ReturnType<typeof tempDir>;
let schema: ReturnType<typeof testSchema>;
let receiver: Receiver;
let a: RelayProcess;
let b: RelayProcess;

beforeAll(async () => {
  if (!enabled) return;
  tmp = tempDir("relay-instances-shared-");
  schema = testSchema("e2e_shared");
  receiver = startReceiver((req) => new Response(req.path === "/down" ? "down" : "ok", { status: req.path === "/down" ? 500 : 200 }));
  const configPath = join(tmp.dir, "relay.yaml");
  writeFileSync(
    configPath,
    `
server: { admin_token: ${ADMIN} }
storage:
  postgres:
    url: "${schema.url}"
    pool: 4
sources:
  shop: { id: shared-shop }
  failing: { id: shared-failing }
  sw:
    id: shared-sw
    verify: { preset: standard-webhooks, secret: "${SW_SECRET}" }
  st:
    id: shared-st
    verify: { preset: stripe, secret: "${STRIPE_SECRET}", header: Stripe-Signature }
destinations:
  ok: { url: "${receiver.url}/ok" }
  flaky: { url: "${receiver.url}/down", retry: [1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s], circuit: { failures: 1000 }, disable_after: 2s }
routes:
  - { from: shop, to: ok }
  - { from: sw, to: ok }
  - { from: st, to: ok }
  - { from: failing, to: flaky }
`,
  );
  [a, b] = await Promise.all([1, 2].map((n) => startRelayProcess(configPath, { RELAY_INSTANCE_ID: `shared-${n}` })));
});
afterAll(async () => {
  if (!enabled) return;
  for (const r of [a, b]) if (r && r.proc.exitCode === null) await r.kill("SIGKILL");
  receiver.stop();
  await schema.drop();
  tmp.cleanup();
});

async function stateOn(relay: RelayProcess, name: string): Promise<string> {
  const res = await fetch(`${relay.url}/api/destinations`, { headers: admin });
  const body = (await res.json()) as { destinations: Array<{ name: string; state: string }> };
  return body.destinations.find((d) => d.name === name)!.state;
}

async function until(check: () => Promise<boolean>, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

run("a destination disabled on one instance shows disabled on both; a resume on the other enables it everywhere", async () => {
  for (let n = 0; n < 4; n++) expect((await postJson(`${(n % 2 ? a : b).url}/api/webhook/shared-failing`, { type: "t", n })).status).toBe(202);
  await until(async () => (await stateOn(a, "flaky")) === "disabled" || (await stateOn(b, "flaky")) === "disabled", "a disable");
  const disabler = (await stateOn(a, "flaky")) === "disabled" ? a : b;
  const other = disabler === a ? b : a;
  await until(async () => (await stateOn(other, "flaky")) === "disabled", "the disable shown on the other instance", 5_000);
  // Both may reach disable_after on their own; otherwise the other took it in from the database. The state turns before
  // the disable is written and logged, and the log reaches this test through a pipe, so the line is waited for.
  await until(async () => other.lines.some((l) => /"destination disabled( by another instance)?"/.test(l)), "the disable logged on the other instance", 5_000);

  // The receiver comes back first: a delivery in flight at the disable is back in line after it, and against a receiver
  // still down it would fail for disable_after (2 s) again and rightly disable the destination once more.
  receiver.respondWith(() => new Response("ok"));
  // Resumed on the instance that did not disable it: enabled in the database, and no longer disabled anywhere.
  const resumed = await postJson(`${other.url}/api/destinations/flaky/resume`, {}, admin);
  expect(resumed.status).toBe(200);
  await until(async () => (await stateOn(disabler, "flaky")) !== "disabled" && (await stateOn(disabler, "flaky")) !== "paused", "the enable on the disabling instance", 5_000);
  expect(await stateOn(other, "flaky")).not.toBe("disabled");
  // It stays enabled: a later read of the database does not bring the disable back.
  await Bun.sleep(1_500);
  expect(["closed", "open", "half_open"]).toContain(await stateOn(a, "flaky"));
  expect(["closed", "open", "half_open"]).toContain(await stateOn(b, "flaky"));
}, 60_000);

run("signed ids, stripe signature replays and idempotency keys are one event across instances", async () => {
  const ts = Math.floor(Date.now() / 1000);
  const swBody = '{"type":"sw.one"}';
  const signature = new Webhook(SW_SECRET).sign("msg_shared_1", new Date(ts * 1000), swBody);
  const swHeaders = { "webhook-id": "msg_shared_1", "webhook-timestamp": String(ts), "webhook-signature": signature };
  const stBody = '{"type":"st.one"}';
  const stHeaders = { "stripe-signature": `t=${ts},v1=${createHmac("sha256", STRIPE_SECRET).update(`${ts}.${stBody}`).digest("hex")}` };

  // The same message at both instances at the same moment, several times over (each with a fresh unsigned key).
  for (const [path, body, headers] of [["shared-sw", swBody, swHeaders], ["shared-st", stBody, stHeaders]] as const) {
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postJson(`${(i % 2 ? a : b).url}/api/webhook/${path}`, body, { ...headers, "idempotency-key": `fresh-${i}` })),
    );
    expect(replies.filter((r) => r.status === 202)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 200 && r.json.duplicate === true)).toHaveLength(7);
    expect(new Set(replies.map((r) => r.json.id)).size).toBe(1);
  }
  const keyed = await Promise.all(
    Array.from({ length: 8 }, (_, i) => postJson(`${(i % 2 ? a : b).url}/api/webhook/shared-shop`, { type: "keyed", i }, { "idempotency-key": "order-77" })),
  );
  expect(keyed.filter((r) => r.status === 202)).toHaveLength(1);
  expect(new Set(keyed.map((r) => r.json.id)).size).toBe(1);
  const events = await fetch(`${a.url}/api/events?source=shop&limit=100`, { headers: admin }).then((r) => r.json() as Promise<{ events: Array<{ type: string }> }>);
  expect(events.events.filter((e) => e.type === "keyed")).toHaveLength(1);
}, 60_000);

/** A browser on the dashboard whose requests land on whichever instance is asked. */
function browser() {
  let cookie = "";
  const send = async (relay: RelayProcess, method: string, path: string, form?: Record<string, string>) => {
    const res = await fetch(`${relay.url}${path}`, {
      method,
      redirect: "manual",
      headers: { ...(cookie ? { cookie } : {}), ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const set = res.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0]!;
    return { status: res.status, location: res.headers.get("location"), text: await res.text() };
  };
  return {
    send,
    get cookie() {
      return cookie;
    },
    set cookie(value: string) {
      cookie = value;
    },
    async csrf(relay: RelayProcess) {
      const page = await send(relay, "GET", "/ui");
      const m = page.text.match(/name="_csrf" value="([^"]+)"/);
      if (!m) throw new Error(`no CSRF token: ${page.status} ${page.text.slice(0, 200)}`);
      return m[1]!;
    },
  };
}

run("a dashboard session started on one instance works on the other; sign-out and key revocation end it on both", async () => {
  const admin1 = browser();
  expect((await admin1.send(a, "POST", "/ui/sign-in", { token: ADMIN })).status).toBe(303);
  expect((await admin1.send(b, "GET", "/ui")).status).toBe(200);
  // A form from one instance's page is accepted by the other, and its notice shows on the next page wherever it lands.
  const paused = await admin1.send(b, "POST", "/ui/destinations/ok/pause", { _csrf: await admin1.csrf(a) });
  expect(paused.status).toBe(303);
  expect((await admin1.send(a, "GET", "/ui")).text).toContain("ok: paused");
  expect((await admin1.send(b, "GET", "/ui")).text).not.toContain("ok: paused");
  await admin1.send(a, "POST", "/ui/destinations/ok/resume", { _csrf: await admin1.csrf(b) });
  // Signed out on one instance: the same cookie, presented again to the other, no longer opens a page.
  const kept = admin1.cookie;
  expect((await admin1.send(b, "POST", "/ui/sign-out", { _csrf: await admin1.csrf(b) })).status).toBe(303);
  admin1.cookie = kept;
  expect((await admin1.send(a, "GET", "/ui")).status).toBe(303);

  // Signed in with an admin key on one instance; the key revoked through the other ends the session on both.
  const created = await postJson(`${a.url}/api/api-keys`, { name: "operator", scopes: ["admin"] }, admin);
  expect(created.status).toBe(201);
  const operator = browser();
  expect((await operator.send(b, "POST", "/ui/sign-in", { token: created.json.key })).status).toBe(303);
  expect((await operator.send(a, "GET", "/ui")).status).toBe(200);
  expect((await fetch(`${b.url}/api/api-keys/${created.json.id}`, { method: "DELETE", headers: admin })).status).toBe(200);
  for (const relay of [a, b]) {
    const res = await operator.send(relay, "GET", "/ui");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/ui/sign-in");
  }
}, 60_000);
