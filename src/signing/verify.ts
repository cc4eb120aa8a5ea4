import { timingSafeEqual } from "node:crypto";
import type { SignatureScheme, VerifyConfig } from "../config/types.ts";
import { decodeSecret, fill, has, mac, schemeProblem } from "./hmac.ts";
import { errorMessage } from "../errors.ts";

export type VerifyResult =
  | {
      ok: true;
      messageId?: string;
      timestamp?: number;
      /** What makes a replay of this exact signed message recognisable: the signed message id, else the signature. */
      replayKey?: string;
    }
  | { ok: false; reason: string };

const MAX_HEADER_CHARS = 8192;

/**
 * Checks an inbound request against the scheme and every configured secret.
 * Header names in `req.headers` are lower-case; `body` is the raw body as received.
 * Never throws: any problem is `ok: false` with a reason meant for logs, not for the sender.
 */
export function verifySignature(
  cfg: VerifyConfig,
  req: { headers: Record<string, string>; body: string },
  nowMs: number,
): VerifyResult {
  try {
    return check(cfg, req, nowMs);
  } catch (e) {
    return fail(`verification error: ${errorMessage(e)}`);
  }
}

function check(cfg: VerifyConfig, req: { headers: Record<string, string>; body: string }, nowMs: number): VerifyResult {
  const { scheme } = cfg;
  const problem = schemeProblem(scheme);
  if (problem) return fail(`misconfigured scheme: ${problem}`);
  const keys: Buffer[] = [];
  for (const secret of cfg.secrets) {
    try {
      keys.push(decodeSecret(secret, scheme.secretFormat));
    } catch {
      // a bad secret is a config problem; the remaining ones may still verify
    }
  }
  if (keys.length === 0) return fail("no usable secret configured");

  const headerName = scheme.header.toLowerCase();
  const value = header(req.headers, headerName);
  if (value === undefined) return fail(`missing header ${headerName}`);
  const trimmed = value.trim();
  if (trimmed === "") return fail(`empty header ${headerName}`);
  if (trimmed.length > MAX_HEADER_CHARS) return fail(`header ${headerName} too long`);

  const parts = valueMatcher(scheme).exec(trimmed) ?? reordered(scheme, trimmed);
  if (!parts?.groups) return fail(`malformed header ${headerName}`);

  let timestampText: string | undefined = parts.groups.ts;
  if (timestampText === undefined && scheme.timestampHeader) {
    const name = scheme.timestampHeader.toLowerCase();
    timestampText = header(req.headers, name)?.trim();
    if (!timestampText) return fail(`missing header ${name}`);
  }
  let timestamp: number | undefined;
  if (timestampText !== undefined) {
    if (!/^\d{1,15}$/.test(timestampText)) return fail("invalid timestamp");
    timestamp = Number(timestampText);
  }

  let messageId: string | undefined;
  if (scheme.idHeader) {
    const name = scheme.idHeader.toLowerCase();
    messageId = header(req.headers, name);
    if (!messageId && has(scheme.signedString, "id")) return fail(`missing header ${name}`);
  }

  const candidates = signatures(scheme, parts.groups.sigs);
  if (candidates.length === 0) return fail(`no signature in header ${headerName}`);

  const signed = fill(scheme.signedString, {
    id: messageId ?? "",
    timestamp: timestampText ?? "",
    body: req.body,
  });
  // Compare every candidate with every key and never stop early, so timing says nothing about which matched.
  let matched: Buffer | null = null;
  for (const key of keys) {
    const expected = mac(key, signed);
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = expected;
    }
  }
  if (!matched) return fail("no matching signature");

  if (timestamp !== undefined && Math.abs(nowMs - timestamp * 1000) > cfg.toleranceMs) {
    return fail("timestamp outside tolerance");
  }
  // A signed id names the message; without one, a timestamped signature is unique to its message and second.
  const signedId = messageId && has(scheme.signedString, "id") ? messageId : undefined;
  const replayKey = signedId ?? (timestamp !== undefined ? `sig:${matched.toString("hex")}` : undefined);
  return {
    ok: true,
    ...(messageId ? { messageId } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    ...(replayKey ? { replayKey } : {}),
  };
}

function fail(reason: string): VerifyResult {
  return { ok: false, reason };
}

function header(headers: Record<string, string>, lowerName: string): string | undefined {
  const direct = headers[lowerName];
  if (typeof direct === "string") return direct;
  for (const [name, v] of Object.entries(headers)) {
    if (name.toLowerCase() === lowerName && typeof v === "string") return v;
  }
  return undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Anchored matcher for the whole header value: named groups `ts` ({timestamp}) and `sigs` ({signatures}). */
function valueMatcher(scheme: SignatureScheme): RegExp {
  const source = scheme.valueFormat
    .split(/(\{timestamp\}|\{signatures\})/)
    .map((token) => {
      if (token === "{timestamp}") return "(?<ts>\\S+?)";
      if (token === "{signatures}") return "(?<sigs>.*)";
      return escapeRegExp(token);
    })
    .join("");
  return new RegExp(`^${source}$`);
}

/**
 * A "<prefix>{timestamp}<sep>{signatures}" value whose parts come in another order (`v1=…,t=…`), as Stripe's
 * libraries accept: the one part with the timestamp prefix is the timestamp, the others are the signatures.
 */
function reordered(scheme: SignatureScheme, value: string): { groups: { ts: string; sigs: string } } | null {
  const shape = /^([^{}]*)\{timestamp\}([^{}]+)\{signatures\}$/.exec(scheme.valueFormat);
  if (!shape || shape[2] !== scheme.separator) return null;
  const [, prefix, separator] = shape;
  const items = value.split(separator);
  const stamps = items.filter((item) => item.trim().startsWith(prefix));
  if (stamps.length !== 1) return null;
  return { groups: { ts: stamps[0].trim().slice(prefix.length), sigs: items.filter((item) => item !== stamps[0]).join(separator) } };
}

/** MAC bytes of every well-formed signature in the list; items in another format (e.g. `v0=`) are skipped. */
function signatures(scheme: SignatureScheme, list: string): Buffer[] {
  const [prefix, suffix] = scheme.signatureFormat.split("{signature}");
  // Repeated header lines arrive joined by ", " (as the svix library reads them): each line is a list of its own.
  const lines = scheme.separator === ", " ? [list] : list.split(", ");
  const items = scheme.separator === null ? lines : lines.flatMap((line) => line.split(scheme.separator!));
  const out: Buffer[] = [];
  for (const raw of items) {
    const item = raw.trim();
    if (item.length <= prefix.length + suffix.length) continue;
    if (!item.startsWith(prefix) || !item.endsWith(suffix)) continue;
    const bytes = decode(item.slice(prefix.length, item.length - suffix.length), scheme.encoding);
    if (bytes) out.push(bytes);
  }
  return out;
}

function decode(text: string, encoding: SignatureScheme["encoding"]): Buffer | null {
  const valid = encoding === "hex" ? /^(?:[0-9a-fA-F]{2})+$/ : /^[A-Za-z0-9+/_-]+={0,2}$/;
  if (!valid.test(text)) return null;
  const bytes = Buffer.from(text, encoding);
  // Wrong-length values still count as a signature that was present, so the reason reads "no matching signature".
  return bytes.length > 0 ? bytes : null;
}
