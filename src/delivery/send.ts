import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Clock } from "../clock.ts";
import { DEFAULT_EGRESS } from "../config/defaults.ts";
import type { EgressPolicy } from "../config/types.ts";
import { decideEgress } from "./egress.ts";
import type { OutboundRequest } from "./request.ts";
import { parseRetryAfter } from "./policy.ts";

/** Responses longer than this cannot be an acknowledgment string; we stop reading there. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface AttemptResult {
  startedAt: number;
  durationMs: number;
  /** Null when no response arrived (timeout, refused connection, …). */
  statusCode: number | null;
  responseBody: string;
  retryAfterMs: number | null;
  error: string | null;
  /** Set when the egress policy refused every address: nothing was sent. */
  refused?: string;
}

/** Where an attempt connects: the checked address, or why the policy refuses the destination. */
export type Target = { ok: true; address: string } | { ok: false; reason: string };

/** What an attempt needs from its URL, parsed once per URL: destinations send to the same few URLs again and again. */
interface ParsedUrl {
  url: URL;
  /** The hostname without an IPv6 literal's brackets. */
  host: string;
  /** The host is an IP address: it is its own answer, checked without a lookup. */
  literal: boolean;
}
const parsedUrls = new Map<string, ParsedUrl>();
const PARSED_URLS_KEPT = 1024;

function parseUrl(text: string): ParsedUrl {
  const hit = parsedUrls.get(text);
  if (hit) return hit;
  const url = new URL(text);
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const parsed = { url, host, literal: isIP(host) !== 0 };
  if (parsedUrls.size >= PARSED_URLS_KEPT) parsedUrls.clear();
  parsedUrls.set(text, parsed);
  return parsed;
}

/** Every address must pass: a name that also resolves to a refused address is refused. */
function checkAddresses(addresses: string[], policy: EgressPolicy, host: string): Target {
  if (addresses.length === 0) return { ok: false, reason: `cannot resolve ${host}` };
  for (const address of addresses) {
    const decision = decideEgress(policy, address);
    if (!decision.allowed) return { ok: false, reason: `egress refused: ${decision.reason}` };
  }
  return { ok: true, address: addresses[0]! };
}

/** Resolves the URL's host and checks every address against the policy; the connection then goes to that address. */
export async function resolveTarget(url: URL, policy: EgressPolicy = DEFAULT_EGRESS): Promise<Target> {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) !== 0) return checkAddresses([host], policy, host);
  return lookupTarget(host, policy);
}

async function lookupTarget(host: string, policy: EgressPolicy): Promise<Target> {
  try {
    return checkAddresses((await lookup(host, { all: true, verbatim: true })).map((a) => a.address), policy, host);
  } catch (error) {
    return { ok: false, reason: `cannot resolve ${host}: ${describeFetchError(error)}` };
  }
}

/** One HTTP attempt: POST with a timeout, redirects not followed, response read up to a bound. */
export async function sendAttempt(
  req: OutboundRequest,
  timeoutMs: number,
  clock: Clock,
  policy: EgressPolicy = DEFAULT_EGRESS,
): Promise<AttemptResult> {
  const startedAt = clock.now();
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const { url, host, literal } = parseUrl(req.url);
    // An IP literal is decided here without a lookup (the decision is cached per policy and address).
    const target = literal ? checkAddresses([host], policy, host) : await lookupTarget(host, policy);
    if (!target.ok) {
      return { startedAt, durationMs: elapsed(), statusCode: null, responseBody: "", retryAfterMs: null, error: target.reason, refused: target.reason };
    }
    // Connect to the address just checked (a second lookup could answer differently); Host and TLS name stay the URL's.
    // An IP literal already names the checked address: the URL is sent as written (same keep-alive pool, no copy).
    let direct: string | URL = req.url;
    if (!literal) {
      direct = new URL(url);
      direct.hostname = target.address.includes(":") ? `[${target.address}]` : target.address;
    }
    const headers = { ...req.headers, host: url.host, "accept-encoding": "identity" };
    const res = await fetch(direct, {
      method: "POST",
      headers,
      body: req.body,
      redirect: "manual",
      signal,
      // Bytes are kept as sent: a compressed answer is never inflated beyond what is read.
      decompress: false,
      ...(url.protocol === "https:" ? { tls: { serverName: url.hostname } } : {}),
    } as RequestInit);
    const responseBody = await readBounded(res);
    return {
      startedAt,
      durationMs: elapsed(),
      statusCode: res.status,
      responseBody,
      retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), clock.now()),
      error: null,
    };
  } catch (error) {
    const timedOut = signal.aborted;
    return {
      startedAt,
      durationMs: elapsed(),
      statusCode: null,
      responseBody: "",
      retryAfterMs: null,
      error: timedOut ? `timed out after ${timeoutMs} ms` : describeFetchError(error),
    };
  }
}

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return "";
  // The common answer declares a short length: read it whole (Bun holds a body to its declared length).
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared >= 0 && declared < MAX_RESPONSE_BYTES) return res.text();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < MAX_RESPONSE_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= MAX_RESPONSE_BYTES) await reader.cancel().catch(() => {});
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    // Bun's messages often start with the code already.
    return code && !error.message.startsWith(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
