import { createHmac } from "node:crypto";
import type { SignatureScheme } from "../config/types.ts";

// Shared by sign.ts and verify.ts: secret decoding, template filling, the MAC itself.

const WHSEC_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Key bytes for a secret; throws (without echoing the secret) when it cannot be used. */
export function decodeSecret(secret: string, format: SignatureScheme["secretFormat"]): Buffer {
  if (format === "raw") {
    if (secret.length === 0) throw new Error("signing secret is empty");
    return Buffer.from(secret, "utf8");
  }
  const b64 = secret.startsWith(WHSEC_PREFIX) ? secret.slice(WHSEC_PREFIX.length) : secret;
  if (!BASE64.test(b64)) throw new Error("whsec secret is not base64");
  const key = Buffer.from(b64, "base64");
  if (key.length === 0) throw new Error("whsec secret decodes to an empty key");
  return key;
}

/** Fills {name} placeholders in one pass, so placeholder-like text inside a value is never expanded. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? values[name] : whole,
  );
}

export function mac(key: Buffer, signedString: string): Buffer {
  return createHmac("sha256", key).update(signedString, "utf8").digest();
}

export function has(template: string, placeholder: string): boolean {
  return template.includes(`{${placeholder}}`);
}

function count(template: string, placeholder: string): number {
  return template.split(`{${placeholder}}`).length - 1;
}

/** Why a scheme cannot work, or null; lets config loading reject it before any request arrives. */
export function schemeProblem(s: SignatureScheme): string | null {
  if (!s.header) return "header is empty";
  if (count(s.valueFormat, "signatures") !== 1) return "valueFormat must contain {signatures} exactly once";
  if (count(s.valueFormat, "timestamp") > 1) return "valueFormat may contain {timestamp} at most once";
  if (count(s.signatureFormat, "signature") !== 1) return "signatureFormat must contain {signature} exactly once";
  if (!has(s.signedString, "body")) return "signedString must contain {body}";
  if (s.separator === "") return "separator must be null or non-empty";
  if (has(s.signedString, "id") && !s.idHeader) return "signedString uses {id} but the scheme has no idHeader";
  const carriesTimestamp = has(s.valueFormat, "timestamp") || !!s.timestampHeader;
  if (has(s.signedString, "timestamp") && !carriesTimestamp) {
    return "signedString uses {timestamp} but neither valueFormat nor timestampHeader carries it";
  }
  return null;
}
