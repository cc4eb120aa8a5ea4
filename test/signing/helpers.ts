import { randomBytes } from "node:crypto";
import type { SignatureScheme } from "../../src/config/types.ts";

export const TOLERANCE_MS = 5 * 60 * 1000;

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A secret in the format the scheme expects: whsec_<base64> or a random raw string. */
export function secretFor(scheme: SignatureScheme): string {
  return scheme.secretFormat === "whsec"
    ? `whsec_${randomBytes(24).toString("base64")}`
    : `s3cr3t-${randomBytes(12).toString("hex")}`;
}

/** What a receiving HTTP server hands the verifier: lower-case header names. */
export function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Our typical outbound envelope, with the characters that trip up re-serialising receivers. */
export const envelope = {
  event: "lead.created",
  timestamp: "2026-01-01T09:30:00.000Z",
  data: {
    id: "lead_01",
    name: "Zoë Ångström-Nuñez",
    city: "Zürich",
    note: "東京 🚀 \"quoted\" back\\slash\nnewline\ttab \u2028 sep",
    tags: ["vip", "früh", ""],
    score: 42.5,
    count: 0,
    negative: -3,
    active: true,
    missing: null,
    address: { street: "Hauptstraße 1", geo: { lat: 47.3769, lng: 8.5417 }, lines: [] },
    nested: [{ a: 1 }, { b: [1, 2, { c: "d" }] }],
  },
};

export const body = JSON.stringify(envelope);
