import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { sign as octokitSign, verify as octokitVerify } from "@octokit/webhooks-methods";
import type { SignConfig, VerifyConfig } from "../../src/config/types.ts";
import { schemeFromPreset, signatureHeaders, signaturePresets, verifySignature } from "../../src/signing/index.ts";
import { TOLERANCE_MS, body, envelope, lowerCased, nowSeconds, secretFor } from "./helpers.ts";

// Under Bun the stripe package loads its web build, whose crypto is async-only: the *Async helpers are its API here.
const stripe = new Stripe("sk_test_x");

describe("standard-webhooks preset against the standardwebhooks package", () => {
  const scheme = schemeFromPreset("standard-webhooks");

  test("our headers verify with Webhook.verify", () => {
    const secret = secretFor(scheme);
    const headers = signatureHeaders({ scheme, secrets: [secret] }, { id: "msg_2a", timestamp: nowSeconds(), body });
    expect(Object.keys(headers).sort()).toEqual(["webhook-id", "webhook-signature", "webhook-timestamp"]);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(envelope);
    expect(() => new Webhook(secretFor(scheme)).verify(body, headers)).toThrow();
  });

  test("a bare base64 secret (no whsec_ prefix) signs with the same key", () => {
    const secret = secretFor(scheme);
    const bare = secret.slice("whsec_".length);
    const msg = { id: "msg_bare", timestamp: nowSeconds(), body };
    const headers = signatureHeaders({ scheme, secrets: [bare] }, msg);
    expect(headers).toEqual(signatureHeaders({ scheme, secrets: [secret] }, msg));
    expect(new Webhook(secret).verify(body, headers)).toEqual(envelope);
  });

  test("requests signed by Webhook.sign are accepted", () => {
    const secret = secretFor(scheme);
    const ts = nowSeconds();
    const signature = new Webhook(secret).sign("msg_in_1", new Date(ts * 1000), body);
    const cfg: VerifyConfig = { scheme, secrets: [secret], toleranceMs: TOLERANCE_MS };
    const req = {
      headers: { "webhook-id": "msg_in_1", "webhook-timestamp": String(ts), "webhook-signature": signature },
      body,
    };
    expect(verifySignature(cfg, req, ts * 1000)).toEqual({ ok: true, messageId: "msg_in_1", timestamp: ts, replayKey: "msg_in_1" });
    expect(verifySignature({ ...cfg, secrets: [secretFor(scheme)] }, req, ts * 1000).ok).toBe(false);
  });

  test("rotation: two v1 signatures, the library accepts either secret", () => {
    const [fresh, old] = [secretFor(scheme), secretFor(scheme)];
    const headers = signatureHeaders({ scheme, secrets: [fresh, old] }, { id: "msg_rot", timestamp: nowSeconds(), body });
    const parts = headers["webhook-signature"].split(" ");
    expect(parts).toHaveLength(2);
    for (const p of parts) expect(p.startsWith("v1,")).toBe(true);
    expect(new Webhook(fresh).verify(body, headers)).toEqual(envelope);
    expect(new Webhook(old).verify(body, headers)).toEqual(envelope);
    expect(() => new Webhook(secretFor(scheme)).verify(body, headers)).toThrow();
  });

  test("a list from a rotating sender is accepted by whichever secret we hold", () => {
    const [fresh, old] = [secretFor(scheme), secretFor(scheme)];
    const ts = nowSeconds();
    const list = [fresh, old].map((s) => new Webhook(s).sign("msg_l", new Date(ts * 1000), body)).join(" ");
    const req = { headers: { "webhook-id": "msg_l", "webhook-timestamp": String(ts), "webhook-signature": list }, body };
    for (const held of [fresh, old]) {
      expect(verifySignature({ scheme, secrets: [held], toleranceMs: TOLERANCE_MS }, req, ts * 1000).ok).toBe(true);
    }
  });

  test("the message id and timestamp are covered by the signature", () => {
    const secret = secretFor(scheme);
    const ts = nowSeconds();
    const headers = lowerCased(signatureHeaders({ scheme, secrets: [secret] }, { id: "msg_a", timestamp: ts, body }));
    const cfg: VerifyConfig = { scheme, secrets: [secret], toleranceMs: TOLERANCE_MS };
    expect(verifySignature(cfg, { headers, body }, ts * 1000).ok).toBe(true);
    const otherId = verifySignature(cfg, { headers: { ...headers, "webhook-id": "msg_b" }, body }, ts * 1000);
    expect(otherId).toEqual({ ok: false, reason: "no matching signature" });
    const otherTs = { ...headers, "webhook-timestamp": String(ts - 1) };
    expect(verifySignature(cfg, { headers: otherTs, body }, ts * 1000)).toEqual({ ok: false, reason: "no matching signature" });
  });
});

describe("stripe preset against the stripe package", () => {
  const scheme = schemeFromPreset("stripe");
  // Stripe secrets are used whole as raw key bytes, whsec_ prefix included.
  const secret = "whsec_relay_test_0123456789abcdef";

  test("our header is accepted by stripe.webhooks.constructEvent(Async)", async () => {
    const ts = nowSeconds();
    const headers = signatureHeaders({ scheme, secrets: [secret] }, { id: "evt_1", timestamp: ts, body });
    expect(Object.keys(headers)).toEqual(["X-Webhook-Signature"]);
    const value = headers["X-Webhook-Signature"];
    expect(value).toMatch(new RegExp(`^t=${ts},v1=[0-9a-f]{64}$`));
    expect(await stripe.webhooks.constructEventAsync(body, value, secret)).toEqual(envelope as never);
    await expect(stripe.webhooks.constructEventAsync(body, value, `${secret}x`)).rejects.toThrow();
  });

  test("a Node receiver's synchronous stripe.webhooks.constructEvent accepts our header", () => {
    const headers = signatureHeaders({ scheme, secrets: [secret] }, { id: "evt_1", timestamp: nowSeconds(), body });
    // Node loads stripe's node build, where constructEvent is synchronous: run it where receivers run it.
    const script = `const Stripe = require("stripe"); const [body, header, secret] = process.argv.slice(1);
      const event = new Stripe("sk_test_x").webhooks.constructEvent(body, header, secret);
      process.stdout.write(JSON.stringify(event));`;
    const run = (key: string) =>
      Bun.spawnSync(["node", "-e", script, body, headers["X-Webhook-Signature"], key], { cwd: import.meta.dir });
    const ok = run(secret);
    expect(ok.stderr.toString()).toBe("");
    expect(JSON.parse(ok.stdout.toString())).toEqual(envelope);
    const wrong = run(`${secret}x`);
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr.toString()).toContain("No signatures found matching the expected signature");
  });

  test("headers from generateTestHeaderString are accepted", async () => {
    const ts = nowSeconds() - 30;
    const value = await stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp: ts });
    const cfg: VerifyConfig = { scheme, secrets: [secret], toleranceMs: TOLERANCE_MS };
    const result = verifySignature(cfg, { headers: { "x-webhook-signature": value }, body }, (ts + 30) * 1000);
    expect(result).toEqual({ ok: true, timestamp: ts, replayKey: expect.stringMatching(/^sig:[0-9a-f]{64}$/) });
    const tampered = verifySignature(cfg, { headers: { "x-webhook-signature": value }, body: `${body} ` }, ts * 1000);
    expect(tampered).toEqual({ ok: false, reason: "no matching signature" });
  });

  test("entries of other schemes (v0) are ignored, the v1 entry still verifies", async () => {
    const ts = nowSeconds();
    const v1 = await stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp: ts });
    const value = `${v1},v0=${"ab".repeat(32)}`;
    const cfg: VerifyConfig = { scheme, secrets: [secret], toleranceMs: TOLERANCE_MS };
    expect(verifySignature(cfg, { headers: { "x-webhook-signature": value }, body }, ts * 1000).ok).toBe(true);
  });

  test("rotation: two v1 entries, stripe accepts either secret", async () => {
    const old = "whsec_relay_old_secret";
    const headers = signatureHeaders({ scheme, secrets: [secret, old] }, { id: "evt_r", timestamp: nowSeconds(), body });
    const value = headers["X-Webhook-Signature"];
    expect(value).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(await stripe.webhooks.constructEventAsync(body, value, secret)).toEqual(envelope as never);
    expect(await stripe.webhooks.constructEventAsync(body, value, old)).toEqual(envelope as never);
    await expect(stripe.webhooks.constructEventAsync(body, value, "whsec_neither")).rejects.toThrow();
  });

  test("a changed t= value invalidates the signature", async () => {
    const ts = nowSeconds();
    const value = await stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp: ts });
    const moved = value.replace(`t=${ts},`, `t=${ts + 60},`);
    const cfg: VerifyConfig = { scheme, secrets: [secret], toleranceMs: TOLERANCE_MS };
    expect(verifySignature(cfg, { headers: { "x-webhook-signature": moved }, body }, ts * 1000)).toEqual({
      ok: false,
      reason: "no matching signature",
    });
  });
});

describe("sha256 preset against @octokit/webhooks-methods", () => {
  const scheme = schemeFromPreset("sha256");
  const secret = "It's a Secret to Everybody";

  test("our header verifies with octokit verify()", async () => {
    const headers = signatureHeaders({ scheme, secrets: [secret] }, { id: "d_1", timestamp: nowSeconds(), body });
    expect(Object.keys(headers)).toEqual(["X-Hub-Signature-256"]);
    expect(headers["X-Hub-Signature-256"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(await octokitVerify(secret, body, headers["X-Hub-Signature-256"])).toBe(true);
    expect(await octokitVerify("another secret", body, headers["X-Hub-Signature-256"])).toBe(false);
  });

  test("octokit sign() output is accepted under a custom header name", async () => {
    const custom = schemeFromPreset("sha256", { header: "x-webhook-signature" });
    const value = await octokitSign(secret, body);
    const cfg: VerifyConfig = { scheme: custom, secrets: [secret], toleranceMs: TOLERANCE_MS };
    expect(verifySignature(cfg, { headers: { "x-webhook-signature": value }, body }, Date.now())).toEqual({ ok: true });
    // The preset's own header name is not what this source was configured with.
    expect(verifySignature(cfg, { headers: { "x-hub-signature-256": value }, body }, Date.now())).toEqual({
      ok: false,
      reason: "missing header x-webhook-signature",
    });
  });

  test("header names are matched case-insensitively", async () => {
    const value = await octokitSign(secret, body);
    const cfg: VerifyConfig = { scheme, secrets: [secret], toleranceMs: TOLERANCE_MS };
    expect(verifySignature(cfg, { headers: { "X-Hub-Signature-256": value }, body }, Date.now()).ok).toBe(true);
  });

  test("one signature per scheme: only the newest secret signs", async () => {
    const old = "the old secret";
    const headers = signatureHeaders({ scheme, secrets: [secret, old] }, { id: "d_2", timestamp: nowSeconds(), body });
    expect(await octokitVerify(secret, body, headers["X-Hub-Signature-256"])).toBe(true);
    expect(await octokitVerify(old, body, headers["X-Hub-Signature-256"])).toBe(false);
  });
});

describe("hex preset against node:crypto", () => {
  const scheme = schemeFromPreset("hex");
  const secret = "vai-shared-secret";

  test("value is the bare lower-case hex HMAC of the body", () => {
    const headers = signatureHeaders({ scheme, secrets: [secret] }, { id: "d_3", timestamp: nowSeconds(), body });
    const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(Buffer.from(body, "utf8")).digest("hex");
    expect(headers).toEqual({ "X-VAI-Signature": expected });
  });

  test("an independently computed signature is accepted, also in upper case", () => {
    const expected = createHmac("sha256", secret).update(body).digest("hex");
    const cfg: VerifyConfig = { scheme, secrets: [secret], toleranceMs: TOLERANCE_MS };
    expect(verifySignature(cfg, { headers: { "x-vai-signature": expected }, body }, Date.now())).toEqual({ ok: true });
    expect(verifySignature(cfg, { headers: { "x-vai-signature": expected.toUpperCase() }, body }, Date.now()).ok).toBe(true);
  });
});

describe("presets as data", () => {
  test("schemeFromPreset copies the preset and applies overrides", () => {
    const s = schemeFromPreset("hex", { header: "X-VAI-Signature" });
    expect(s).toEqual({ ...signaturePresets.hex, header: "X-VAI-Signature" });
    s.header = "changed";
    expect(signaturePresets.hex.header).toBe("X-VAI-Signature");
  });

  test("a custom scheme runs through the same mechanism", () => {
    const scheme = schemeFromPreset("hex", {
      preset: "custom",
      header: "X-Custom-Sig",
      signedString: "{timestamp}:{id}:{body}",
      encoding: "base64",
      valueFormat: "{signatures};ts={timestamp}",
      signatureFormat: "s=<{signature}>",
      separator: "|",
      idHeader: "X-Custom-Id",
    });
    const [a, b] = ["first secret", "second secret"];
    const ts = nowSeconds();
    const sign: SignConfig = { scheme, secrets: [a, b] };
    const headers = signatureHeaders(sign, { id: "c1", timestamp: ts, body });
    const mac = (k: string) => createHmac("sha256", k).update(`${ts}:c1:${body}`).digest("base64");
    expect(headers).toEqual({ "X-Custom-Sig": `s=<${mac(a)}>|s=<${mac(b)}>;ts=${ts}`, "X-Custom-Id": "c1" });
    const req = { headers: lowerCased(headers), body };
    for (const held of [a, b]) {
      const cfg: VerifyConfig = { scheme, secrets: [held], toleranceMs: TOLERANCE_MS };
      expect(verifySignature(cfg, req, ts * 1000)).toEqual({ ok: true, messageId: "c1", timestamp: ts, replayKey: "c1" });
    }
    expect(verifySignature({ scheme, secrets: ["third"], toleranceMs: TOLERANCE_MS }, req, ts * 1000).ok).toBe(false);
  });
});
