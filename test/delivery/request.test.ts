import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { buildRequest } from "../../src/delivery/request.ts";
import { schemeFromPreset, type PresetName } from "../../src/signing/presets.ts";
import { destination } from "../support/destination.ts";

const PRETTY = '{\n  "event": "reply.sent",\n  "data": { "amount": 1.50, "note": "Müller" }\n}';
const NOW = Date.UTC(2026, 2, 23, 14, 30, 0, 123);
const signed = (preset: PresetName) =>
  destination("hook", "http://127.0.0.1:9/x", { sign: { scheme: schemeFromPreset(preset), secrets: ["whsec_c2VjcmV0LWtleS0xMjM0NTY3OA=="] } });
const msg = { deliveryId: "dlv_1", eventId: "evt_1", eventType: "reply.sent", body: PRETTY };

describe("the bytes sent for each preset", () => {
  test.each(["sha256", "stripe"] as const)("%s: receivers re-serialize, so the body is JSON.stringify(JSON.parse(body))", (preset) => {
    const req = buildRequest(signed(preset), msg, NOW);
    expect(req.body).toBe(JSON.stringify(JSON.parse(PRETTY)));
    expect(req.body).toBe('{"event":"reply.sent","data":{"amount":1.5,"note":"Müller"}}');
  });

  test.each(["hex", "standard-webhooks"] as const)("%s: receivers verify the raw body, which is sent as stored", (preset) => {
    expect(buildRequest(signed(preset), msg, NOW).body).toBe(PRETTY);
  });

  test("the sha256 signature is over the sent bytes", () => {
    const dest = destination("hook", "http://127.0.0.1:9/x", { sign: { scheme: schemeFromPreset("sha256"), secrets: ["s3cret"] } });
    const req = buildRequest(dest, msg, NOW);
    expect(req.headers["X-Hub-Signature-256"]).toBe(`sha256=${createHmac("sha256", "s3cret").update(req.body).digest("hex")}`);
  });

  test("a body that is not JSON is sent as it is", () => {
    expect(buildRequest(signed("sha256"), { ...msg, body: "not json" }, NOW).body).toBe("not json");
  });
});

describe("id and timestamp headers", () => {
  const withHeaders = (extra: object) => destination("vai", "http://127.0.0.1:9/x", { idHeader: "X-VAI-Webhook-ID", timestampHeader: "X-VAI-Timestamp", ...extra });

  test("defaults: the destination's name and Date.now() in milliseconds, as VAI sends them", () => {
    const h = buildRequest(withHeaders({}), msg, NOW).headers;
    expect([h["X-VAI-Webhook-ID"], h["X-VAI-Timestamp"]]).toEqual(["vai", String(NOW)]);
  });

  test.each([
    [{ idValue: "delivery", timestampFormat: "s" }, "dlv_1", String(Math.floor(NOW / 1000))],
    [{ idValue: "event", timestampFormat: "iso" }, "evt_1", "2026-03-23T14:30:00.123Z"],
    [{ idValue: "destination", timestampFormat: "ms" }, "vai", String(NOW)],
  ] as const)("%p", (settings, id, timestamp) => {
    const h = buildRequest(withHeaders(settings), msg, NOW).headers;
    expect([h["X-VAI-Webhook-ID"], h["X-VAI-Timestamp"]]).toEqual([id, timestamp]);
  });

  test("a static header replaces a default one whatever its case", () => {
    const h = buildRequest(destination("vai", "http://127.0.0.1:9/x", { headers: { "User-Agent": "VAI-Portal-Webhook/1.0" } }), msg, NOW).headers;
    expect(h["User-Agent"]).toBe("VAI-Portal-Webhook/1.0");
    expect(h["user-agent"]).toBeUndefined();
  });
});
