import type { Clock } from "../clock.ts";
import { DEFAULT_COMMIT_TIMEOUT_MS } from "../config/defaults.ts";
import type { Config, SourceConfig } from "../config/types.ts";
import { BadRequest, errorMessage, PayloadTooLarge, Unauthorized, Unavailable, UnsupportedMediaType } from "../errors.ts";
import { newId } from "../ids.ts";
import { repeatedError, type Logger } from "../log.ts";
import type { StorageHealth } from "../ops/storage-health.ts";
import type { InboundEvent } from "../routing/event.ts";
import { plan } from "../routing/plan.ts";
import { readVariables } from "../routing/variables.ts";
import { verifySignature } from "../signing/index.ts";
import type { Store } from "../store/types.ts";
import { nestsDeeperThan } from "../routing/depth.ts";
import { eventTypeOf, idempotencyKeyOf, isJsonContentType, storedHeaders } from "./inbound.ts";
import { readTypedEnvelope } from "./typed.ts";

// Stateless between calls (no `stream` option), so one decoder serves every request.
const UTF8 = new TextDecoder("utf-8", { fatal: true });

export interface Accepted {
  /** 202 for a new event, 200 when an idempotency key repeated an earlier one. */
  status: 200 | 202;
  body: { success: true; message: string; id: string; duplicate?: true };
}

export interface ReceiverDeps {
  store: Store;
  config: () => Config;
  clock: Clock;
  log: Logger;
  /** Write failures, waiting commits and the free-space floor (health reads the same state). */
  storage?: StorageHealth;
}

/** Seconds a sender is asked to wait: a held lock passes quickly, a full disk needs an operator. */
const RETRY_AFTER_BUSY_S = 5;
const RETRY_AFTER_FAILING_S = 30;
const RETRY_AFTER_FULL_S = 60;

/** Checks, routes and durably records one inbound webhook; resolves only after the commit. */
export function createReceiver({ store, config, clock, log, storage }: ReceiverDeps) {
  const storageError = repeatedError(log, () => clock.now());

  /** Commits within the configured time, or answers 503 + Retry-After: a 2xx only once the event is on disk. */
  const commit = async (...args: Parameters<Store["record"]>) => {
    const limitMs = config().server.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS;
    const recording = store.record(...args);
    // The commit stays watched (health) until the store answers, even after the sender got its 503.
    const done = storage?.commitStarted();
    recording.then(
      () => {
        done?.();
        storage?.succeeded();
      },
      (error) => {
        done?.();
        storage?.failed(errorMessage(error));
      },
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), limitMs)));
    try {
      const result = await Promise.race([recording, timedOut]);
      if (result === "timeout") {
        storageError("commit timed out", { limitMs });
        throw new Unavailable(`the event could not be stored within ${limitMs} ms; retry later`, RETRY_AFTER_BUSY_S, "commit_timeout");
      }
      return result;
    } catch (error) {
      if (error instanceof Unavailable) throw error;
      storageError("event could not be stored", { error: errorMessage(error) });
      throw new Unavailable("events cannot be stored right now; retry later", RETRY_AFTER_FAILING_S, "storage_failing");
    } finally {
      clearTimeout(timer);
    }
  };

  return async function receive(request: Request, source: SourceConfig): Promise<Accepted> {
    const low = storage?.belowFloor();
    if (low) throw new Unavailable("the server is low on disk space; retry later", RETRY_AFTER_FULL_S, "storage_full");
    if (!isJsonContentType(request.headers.get("content-type"))) {
      throw new UnsupportedMediaType("Content-Type must be application/json");
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > source.maxBodyBytes) throw tooLarge(source);
    const bytes = await readBounded(request, source.maxBodyBytes);
    if (bytes === null) throw tooLarge(source);
    let rawBody: string;
    try {
      rawBody = UTF8.decode(bytes);
    } catch {
      throw new BadRequest("body is not valid UTF-8", "malformed_body");
    }

    const headers = storedHeaders(request.headers, source);
    // A verified message's own identity outranks an unsigned Idempotency-Key, so a replay is never a new event.
    let replayKey: string | undefined;
    if (source.verify) {
      const lowered: Record<string, string> = {};
      request.headers.forEach((v, k) => (lowered[k.toLowerCase()] = v));
      const verdict = verifySignature(source.verify, { headers: lowered, body: rawBody }, clock.now());
      if (!verdict.ok) {
        log.warn("signature rejected", { source: source.name, reason: verdict.reason });
        throw new Unauthorized("invalid signature");
      }
      replayKey = verdict.replayKey;
    }

    const { event, message } = readEvent(source, rawBody, headers, clock.now());
    const deliveries = await plan(event, config());
    const result = await commit(
      {
        id: event.id,
        source: source.name,
        type: event.type,
        receivedAt: event.receivedAt,
        headers,
        body: rawBody,
        idempotencyKey: replayKey ?? idempotencyKeyOf(request.headers),
      },
      deliveries,
    );
    if (result.duplicate) {
      return { status: 200, body: { success: true, message: "Duplicate event, already received", id: result.eventId, duplicate: true } };
    }
    log.info("event received", { event: event.id, source: source.name, type: event.type, deliveries: deliveries.length });
    return { status: 202, body: { success: true, message, id: result.eventId } };
  };
}

const DEFAULT_MAX_DEPTH = 64;

/** Pure: parses and validates a body into the event routes see; throws BadRequest listing every problem. */
export function readEvent(
  source: SourceConfig,
  rawBody: string,
  headers: Record<string, string>,
  receivedAt: number,
): { event: InboundEvent; message: string } {
  // Deeper bodies would pass JSON.parse but overflow the stack of every later reader (routing, transforms, views).
  const maxDepth = source.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (nestsDeeperThan(rawBody, maxDepth)) {
    throw new BadRequest(`JSON nests deeper than the ${maxDepth}-level limit of source "${source.name}"`, "too_deep");
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch (error) {
    throw new BadRequest(`malformed JSON: ${(error as Error).message}`, "malformed_json");
  }
  let type = eventTypeOf(source, headers, body);
  let message = "Event received";
  const problems: string[] = [];
  if (source.kind === "typed") {
    const typed = readTypedEnvelope(body);
    if (typed.ok) {
      type = typed.type;
      message = typed.message;
    } else problems.push(...typed.errors);
  }
  const vars = readVariables(source.variables, body);
  if (!vars.ok) problems.push(...vars.errors);
  if (problems.length > 0) throw new BadRequest(`invalid body: ${problems.join("; ")}`, "invalid_body");
  const event: InboundEvent = {
    id: newId("evt", receivedAt),
    source: source.name,
    type,
    receivedAt,
    headers,
    body,
    rawBody,
    variables: vars.ok ? vars.values : {},
  };
  return { event, message };
}

function tooLarge(source: SourceConfig): PayloadTooLarge {
  return new PayloadTooLarge(`body exceeds the ${source.maxBodyBytes}-byte limit of source "${source.name}"`);
}

/** The body, or null as soon as it passes `limit` bytes (a chunked upload declares no length). */
async function readBounded(request: Request, limit: number): Promise<Uint8Array | null> {
  if (request.headers.has("content-length")) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    return bytes.byteLength > limit ? null : bytes;
  }
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
