import type { SignConfig } from "../config/types.ts";
import { decodeSecret, fill, mac, schemeProblem } from "./hmac.ts";

/**
 * Headers to add to an outbound request so the receiver can verify it.
 * `body` must be the exact string sent; `timestamp` is unix seconds.
 */
export function signatureHeaders(
  sign: SignConfig,
  msg: { id: string; timestamp: number; body: string },
): Record<string, string> {
  const { scheme } = sign;
  const problem = schemeProblem(scheme);
  if (problem) throw new Error(`signature scheme ${scheme.preset}: ${problem}`);
  if (sign.secrets.length === 0) throw new Error(`signature scheme ${scheme.preset}: no secrets`);
  if (!Number.isFinite(msg.timestamp)) throw new Error("signature timestamp must be a finite number");

  const timestamp = String(Math.floor(msg.timestamp));
  const signed = fill(scheme.signedString, { id: msg.id, timestamp, body: msg.body });
  // Without a separator the scheme carries one signature: the newest secret's.
  const secrets = scheme.separator === null ? sign.secrets.slice(0, 1) : sign.secrets;
  const signatures = secrets.map((secret) => {
    const digest = mac(decodeSecret(secret, scheme.secretFormat), signed).toString(scheme.encoding);
    return fill(scheme.signatureFormat, { signature: digest });
  });

  const headers: Record<string, string> = {
    [scheme.header]: fill(scheme.valueFormat, {
      timestamp,
      signatures: signatures.join(scheme.separator ?? ""),
    }),
  };
  if (scheme.idHeader) headers[scheme.idHeader] = msg.id;
  if (scheme.timestampHeader) headers[scheme.timestampHeader] = timestamp;
  return headers;
}
