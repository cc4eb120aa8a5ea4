import { describe, expect, test } from "bun:test";
import type { SignatureScheme, VerifyConfig } from "../../src/config/types.ts";
import { presetNames, schemeFromPreset, signatureHeaders, verifySignature } from "../../src/signing/index.ts";
import { TOLERANCE_MS, body, lowerCased, secretFor } from "./helpers.ts";

const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z, unix seconds

function carriesTimestamp(s: SignatureScheme): boolean {
  return s.valueFormat.includes("{timestamp}") || !!s.timestampHeader;
}

for (const name of presetNames) {
  describe(`${name} preset: verification`, () => {
    const scheme = schemeFromPreset(name);
    const sigHeader = scheme.header.toLowerCase();
    const [fresh, old, wrong] = [secretFor(scheme), secretFor(scheme), secretFor(scheme)];
    const cfg: VerifyConfig = { scheme, secrets: [fresh, old], toleranceMs: TOLERANCE_MS };

    function request(secrets: string[], opts: { timestamp?: number; body?: string } = {}) {
      const headers = signatureHeaders({ scheme, secrets }, { id: "msg_7", timestamp: opts.timestamp ?? NOW, body: opts.body ?? body });
      return { headers: lowerCased(headers), body: opts.body ?? body };
    }
    function withHeader(value: string | undefined) {
      const req = request([fresh]);
      if (value === undefined) delete req.headers[sigHeader];
      else req.headers[sigHeader] = value;
      return req;
    }
    function rejected(req: { headers: Record<string, string>; body: string }, nowMs = NOW * 1000): string {
      const result = verifySignature(cfg, req, nowMs);
      expect(result.ok).toBe(false);
      if (result.ok) throw new Error("unreachable");
      expect(result.reason.length).toBeGreaterThan(0);
      return result.reason;
    }

    test("accepts a request signed with the newest secret", () => {
      const result = verifySignature(cfg, request([fresh]), NOW * 1000);
      expect(result.ok).toBe(true);
      if (carriesTimestamp(scheme)) expect(result).toMatchObject({ timestamp: NOW });
      if (scheme.idHeader) expect(result).toMatchObject({ messageId: "msg_7" });
    });

    test("rotation: accepts a request signed only with the old secret", () => {
      expect(verifySignature(cfg, request([old]), NOW * 1000).ok).toBe(true);
      expect(verifySignature({ ...cfg, secrets: [old, fresh] }, request([fresh]), NOW * 1000).ok).toBe(true);
    });

    test("rejects one changed byte of the body", () => {
      const req = request([fresh]);
      const i = req.body.indexOf("42.5");
      req.body = `${req.body.slice(0, i)}5${req.body.slice(i + 1)}`;
      expect(req.body.length).toBe(body.length);
      expect(rejected(req)).toBe("no matching signature");
    });

    test("rejects a signature made with a wrong secret", () => {
      expect(rejected(request([wrong]))).toBe("no matching signature");
    });

    test("rejects truncated signatures", () => {
      // Base64 padding carries no MAC bits, so cut real signature characters.
      const value = request([fresh]).headers[sigHeader].replace(/=+$/, "");
      rejected(withHeader(value.slice(0, -1)));
      rejected(withHeader(value.slice(0, -4)));
      rejected(withHeader(value.slice(0, Math.ceil(value.length / 2))));
    });

    test("rejects a prefix-only value", () => {
      const prefixOnly = scheme.valueFormat
        .replace("{timestamp}", String(NOW))
        .replace("{signatures}", scheme.signatureFormat.replace("{signature}", ""));
      rejected(withHeader(prefixOnly));
    });

    test("rejects an empty or blank header", () => {
      expect(rejected(withHeader(""))).toBe(`empty header ${sigHeader}`);
      expect(rejected(withHeader("   "))).toBe(`empty header ${sigHeader}`);
    });

    test("rejects a missing header", () => {
      expect(rejected(withHeader(undefined))).toBe(`missing header ${sigHeader}`);
      expect(rejected({ headers: {}, body })).toBe(`missing header ${sigHeader}`);
    });

    test("rejects garbage without throwing", () => {
      const garbage = [
        "garbage",
        "sha256=zz",
        "v1,@@@",
        "v1=",
        "t=,v1=",
        "t=abc,v1=00",
        ",,,,",
        "\u0000\uffff",
        "🚀".repeat(50),
        "a".repeat(20_000),
        `${"v1,AAAA ".repeat(500)}`,
      ];
      for (const g of garbage) rejected(withHeader(g));
    });

    test("rejects when no secret is usable", () => {
      const result = verifySignature({ ...cfg, secrets: [] }, request([fresh]), NOW * 1000);
      expect(result).toEqual({ ok: false, reason: "no usable secret configured" });
    });

    if (carriesTimestamp(scheme)) {
      test("timestamp tolerance: 299 s and 300 s accepted, 301 s rejected, both directions", () => {
        for (const age of [299, 300, -299, -300]) {
          expect(verifySignature(cfg, request([fresh], { timestamp: NOW - age }), NOW * 1000).ok).toBe(true);
        }
        expect(rejected(request([fresh], { timestamp: NOW - 301 }))).toBe("timestamp outside tolerance");
        expect(rejected(request([fresh], { timestamp: NOW + 301 }))).toBe("timestamp outside tolerance");
      });

      test("rotation within tolerance: old secret at 299 s is accepted", () => {
        expect(verifySignature(cfg, request([old], { timestamp: NOW - 299 }), NOW * 1000).ok).toBe(true);
      });
    } else {
      test("carries no timestamp, so age is not checked", () => {
        expect(verifySignature(cfg, request([fresh]), (NOW + 86_400) * 1000).ok).toBe(true);
      });
    }

    if (scheme.timestampHeader) {
      test("rejects a missing or non-numeric timestamp header", () => {
        const ts = scheme.timestampHeader!.toLowerCase();
        const missing = request([fresh]);
        delete missing.headers[ts];
        expect(rejected(missing)).toBe(`missing header ${ts}`);
        const bad = request([fresh]);
        bad.headers[ts] = `${NOW}.5`;
        expect(rejected(bad)).toBe("invalid timestamp");
      });
    }

    if (scheme.idHeader) {
      test("rejects a missing id header", () => {
        const id = scheme.idHeader!.toLowerCase();
        const req = request([fresh]);
        delete req.headers[id];
        expect(rejected(req)).toBe(`missing header ${id}`);
      });
    }
  });
}

describe("misconfiguration", () => {
  test("a scheme without {signatures} cannot sign and never verifies", () => {
    const scheme = schemeFromPreset("hex", { valueFormat: "fixed" });
    expect(() => signatureHeaders({ scheme, secrets: ["k"] }, { id: "x", timestamp: NOW, body })).toThrow(/signatures/);
    const result = verifySignature({ scheme, secrets: ["k"], toleranceMs: TOLERANCE_MS }, { headers: { "x-signature": "fixed" }, body }, NOW * 1000);
    expect(result.ok).toBe(false);
  });

  test("signing needs at least one secret", () => {
    const scheme = schemeFromPreset("sha256");
    expect(() => signatureHeaders({ scheme, secrets: [] }, { id: "x", timestamp: NOW, body })).toThrow(/no secrets/);
  });

  test("a whsec secret that is not base64 is refused, without echoing it", () => {
    const scheme = schemeFromPreset("standard-webhooks");
    let message = "";
    try {
      signatureHeaders({ scheme, secrets: ["whsec_not*base64!"] }, { id: "x", timestamp: NOW, body });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe("whsec secret is not base64");
  });

  test("an unusable secret next to a good one does not block verification", () => {
    const scheme = schemeFromPreset("standard-webhooks");
    const good = secretFor(scheme);
    const headers = lowerCased(signatureHeaders({ scheme, secrets: [good] }, { id: "m", timestamp: NOW, body }));
    const cfg: VerifyConfig = { scheme, secrets: ["whsec_***", good], toleranceMs: TOLERANCE_MS };
    expect(verifySignature(cfg, { headers, body }, NOW * 1000).ok).toBe(true);
  });
});
