import type { Clock } from "../clock.ts";
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
}

/** One HTTP attempt: POST with a timeout, redirects not followed, response read up to a bound. */
export async function sendAttempt(req: OutboundRequest, timeoutMs: number, clock: Clock): Promise<AttemptResult> {
  const startedAt = clock.now();
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(req.url, { method: "POST", headers: req.headers, body: req.body, redirect: "manual", signal });
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
