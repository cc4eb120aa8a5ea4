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

/** Resolves the URL's host and checks every address against the policy; the connection then goes to that address. */
export async function resolveTarget(url: URL, policy: EgressPolicy = DEFAULT_EGRESS): Promise<Target> {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: string[];
  // An IP literal is its own answer: no lookup, the decision is made on it directly.
  if (isIP(host) !== 0) addresses = [host];
  else try {
    addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (error) {
    return { ok: false, reason: `cannot resolve ${host}: ${describeFetchError(error)}` };
  }
  if (addresses.length === 0) return { ok: false, reason: `cannot resolve ${host}` };
  // Every answer must pass: a name that also resolves to a refused address is refused.
  for (const address of addresses) {
    const decision = decideEgress(policy, address);
    if (!decision.allowed) return { ok: false, reason: `egress refused: ${decision.reason}` };
  }
  return { ok: true, address: addresses[0] };
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
    const url = new URL(req.url);
    const target = await resolveTarget(url, policy);
    if (!target.ok) {
      return { startedAt, durationMs: elapsed(), statusCode: null, responseBody: "", retryAfterMs: null, error: target.reason, refused: target.reason };
    }
    // Connect to the address just checked (a second lookup could answer differently); Host and TLS name stay the URL's.
    // An IP literal already names the checked address: the URL is used as is (same keep-alive pool, no copy).
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const direct = host === target.address ? url : new URL(url);
    if (direct !== url) direct.hostname = target.address.includes(":") ? `[${target.address}]` : target.address;
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
