import type { Clock } from "../clock.ts";
import type { Config, SourceConfig } from "../config/types.ts";
import { BadRequest, RelayError, Unauthorized } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { InboundEvent } from "../routing/event.ts";
import { matchRoutes } from "../routing/match.ts";
import { render } from "../routing/render.ts";
import { readVariables } from "../routing/variables.ts";
import { verifySignature } from "../signing/index.ts";
import type { NewDelivery, Store } from "../store/types.ts";
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
}

/** Checks, routes and durably records one inbound webhook; resolves only after the commit. */
export function createReceiver({ store, config, clock, log }: ReceiverDeps) {
  return async function receive(request: Request, source: SourceConfig): Promise<Accepted> {
    if (!isJsonContentType(request.headers.get("content-type"))) {
      throw new RelayError("unsupported_media_type", 415, "Content-Type must be application/json");
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > source.maxBodyBytes) throw tooLarge(source);
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > source.maxBodyBytes) throw tooLarge(source);
    let rawBody: string;
    try {
      rawBody = UTF8.decode(bytes);
    } catch {
      throw new BadRequest("body is not valid UTF-8", "malformed_body");
    }

    const headers = storedHeaders(request.headers, source);
    if (source.verify) {
      const lowered: Record<string, string> = {};
      request.headers.forEach((v, k) => (lowered[k.toLowerCase()] = v));
      const verdict = verifySignature(source.verify, { headers: lowered, body: rawBody }, clock.now());
      if (!verdict.ok) {
        log.warn("signature rejected", { source: source.name, reason: verdict.reason });
        throw new Unauthorized("invalid signature");
      }
    }

    const { event, message } = readEvent(source, rawBody, headers, clock.now());
    const deliveries = await plan(event, config());
    const result = await store.record(
      {
        id: event.id,
        source: source.name,
        type: event.type,
        receivedAt: event.receivedAt,
        headers,
        body: rawBody,
        idempotencyKey: idempotencyKeyOf(request.headers),
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

/** Pure: parses and validates a body into the event routes see; throws BadRequest listing every problem. */
export function readEvent(
  source: SourceConfig,
  rawBody: string,
  headers: Record<string, string>,
  receivedAt: number,
): { event: InboundEvent; message: string } {
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

/** One outbox row per (matching route, destination); the body is rendered now so history never changes. */
export async function plan(event: InboundEvent, config: Config): Promise<NewDelivery[]> {
  const rows: NewDelivery[] = [];
  for (const route of matchRoutes(event, config.routes)) {
    const rendered = await render(route.transform, event);
    for (const name of route.to) {
      const dest = config.destinations[name];
      const row: NewDelivery = {
        id: newId("dlv", event.receivedAt),
        route: route.name,
        destination: name,
        status: dest?.digest ? "held_for_digest" : "pending",
        body: rendered.ok ? rendered.body : "",
        nextAttemptAt: event.receivedAt,
      };
      if (!rendered.ok) {
        row.status = "dead";
        row.lastError = `transform failed: ${rendered.error}`;
      }
      rows.push(row);
    }
  }
  return rows;
}

function tooLarge(source: SourceConfig): RelayError {
  return new RelayError("payload_too_large", 413, `body exceeds the ${source.maxBodyBytes}-byte limit of source "${source.name}"`);
}
