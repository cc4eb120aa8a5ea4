import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { verify as octokitVerify } from "@octokit/webhooks-methods";
import { schemeFromPreset, signatureHeaders, verifySignature } from "../../src/signing/index.ts";
import { TOLERANCE_MS, body, envelope, lowerCased, nowSeconds, secretFor } from "./helpers.ts";

describe("signed bytes are compact JSON.stringify output", () => {
  test("a receiver re-serialising the parsed body gets identical bytes", () => {
    const reserialised = JSON.stringify(JSON.parse(body));
    expect(reserialised).toBe(body);
    expect(Buffer.from(reserialised, "utf8").equals(Buffer.from(body, "utf8"))).toBe(true);
    expect(body).not.toMatch(/\n\s/);
  });

  test("a re-serialising receiver still verifies our signature", async () => {
    const scheme = schemeFromPreset("sha256");
    const headers = signatureHeaders({ scheme, secrets: ["k1"] }, { id: "d", timestamp: nowSeconds(), body });
    const receivedThenReserialised = JSON.stringify(JSON.parse(body));
    expect(await octokitVerify("k1", receivedThenReserialised, headers["X-Hub-Signature-256"])).toBe(true);
  });

  test("pretty-printed bytes would not verify (the check can fail)", async () => {
    const scheme = schemeFromPreset("sha256");
    const headers = signatureHeaders({ scheme, secrets: ["k1"] }, { id: "d", timestamp: nowSeconds(), body });
    expect(await octokitVerify("k1", JSON.stringify(envelope, null, 2), headers["X-Hub-Signature-256"])).toBe(false);
  });
});

describe("placeholder-like text in values is signed literally", () => {
  const tricky = JSON.stringify({ event: "x", data: { t: "{timestamp}", i: "{id}", b: "{body}", d: "$& $1 $$ $`" } });

  test("standard-webhooks library verifies a body and id full of placeholders", () => {
    const scheme = schemeFromPreset("standard-webhooks");
    const secret = secretFor(scheme);
    const id = "msg_{body}_$&";
    const headers = signatureHeaders({ scheme, secrets: [secret] }, { id, timestamp: nowSeconds(), body: tricky });
    expect(headers["webhook-id"]).toBe(id);
    expect(new Webhook(secret).verify(tricky, headers)).toEqual(JSON.parse(tricky));
  });

  test("our verifier round-trips the same request", () => {
    const scheme = schemeFromPreset("stripe");
    const ts = nowSeconds();
    const headers = lowerCased(signatureHeaders({ scheme, secrets: ["k"] }, { id: "e", timestamp: ts, body: tricky }));
    const cfg = { scheme, secrets: ["k"], toleranceMs: TOLERANCE_MS };
    expect(verifySignature(cfg, { headers, body: tricky }, ts * 1000)).toEqual({ ok: true, timestamp: ts, replayKey: expect.stringMatching(/^sig:/) });
  });
});
