import { t } from "elysia";
import type { Guard } from "../auth/guard.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config/types.ts";
import { maskUrl } from "../config/describe.ts";
import { BadRequest } from "../errors.ts";
import { idFloor } from "../ids.ts";
import type { Logger } from "../log.ts";
import { DELIVERY_STATUSES, type AttemptRow, type DeliveryRow, type EventQuery } from "../store/admin-queries.ts";
import type { DeliveryStatus } from "../store/schema.ts";
import type { Store } from "../store/types.ts";

// The admin views: what the JSON API and the dashboard share (deps, error shape, time format, delivery views, paging).

/** What the events, deliveries and destinations plugins share. */
export interface AdminDeps {
  store: Store;
  guard: Pick<Guard, "requireAdmin">;
  config: () => Config;
  clock: Clock;
  log: Logger;
  /** Starts the worker's next pass at once (after a retry puts rows back in line). */
  wake: () => void;
}

export const ErrorSchema = t.Object({ error: t.String(), code: t.String() });
export const authErrors = { 401: ErrorSchema, 403: ErrorSchema, 429: ErrorSchema };

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
// A string checked by limitParam: Elysia's numeric coercion reports failures without the parameter's name.
export const LimitSchema = t.String({ description: `page size: a whole number from 1 to ${MAX_LIMIT}, default ${DEFAULT_LIMIT}` });
export const CursorSchema = t.String({ minLength: 1, description: "the previous page's nextCursor" });
export const StatusSchema = t.String({ enum: [...DELIVERY_STATUSES], description: `one of ${DELIVERY_STATUSES.join(", ")}` });

export const AttemptSchema = t.Object({
  startedAt: t.String({ description: "ISO-8601" }),
  durationMs: t.Integer(),
  statusCode: t.Union([t.Integer(), t.Null()], { description: "null when no response arrived" }),
  response: t.Union([t.String(), t.Null()], { description: "first 1 KB of the response body" }),
  error: t.Union([t.String(), t.Null()], { description: "null when the attempt was acknowledged" }),
});

export const DeliverySchema = t.Object({
  id: t.String({ description: "dlv_…" }),
  eventId: t.Union([t.String(), t.Null()], { description: "null for digest and test-send deliveries" }),
  digestId: t.Union([t.String(), t.Null()]),
  route: t.String({ description: 'route name; "digest" and "test-send" for deliveries Relay made itself' }),
  destination: t.String(),
  eventType: t.String(),
  status: t.String({ description: DELIVERY_STATUSES.join(" | ") }),
  attempts: t.Integer({ description: "attempts since creation or the last admin retry (the retry schedule restarts there)" }),
  nextAttemptAt: t.Union([t.String(), t.Null()], { description: "ISO-8601 while pending, else null" }),
  lastError: t.Union([t.String(), t.Null()]),
  createdAt: t.String(),
  deliveredAt: t.Union([t.String(), t.Null()]),
});

export const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** Error texts may quote a destination URL; its credentials never leave the server. */
export function maskUrlsIn(text: string | null): string | null {
  return text === null ? null : text.replace(/\bhttps?:\/\/[^\s"'<>]+/gi, (url) => maskUrl(url));
}

export function deliveryView(d: DeliveryRow) {
  return {
    id: d.id,
    eventId: d.eventId,
    digestId: d.digestId,
    route: d.route,
    destination: d.destination,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === "pending" ? iso(d.nextAttemptAt) : null,
    lastError: maskUrlsIn(d.lastError),
    createdAt: iso(d.createdAt),
    deliveredAt: isoOrNull(d.deliveredAt),
  };
}

export function attemptView(a: AttemptRow) {
  return {
    startedAt: iso(a.startedAt),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    response: a.response,
    error: maskUrlsIn(a.error),
  };
}

export function limitParam(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw new BadRequest(`limit: expected a whole number from 1 to ${MAX_LIMIT}`);
  return n;
}

/** A status filter from a query string; unknown values are a 400 that lists the valid ones. */
export function statusParam(value: string | undefined): DeliveryStatus | undefined {
  if (value === undefined) return undefined;
  if (!(DELIVERY_STATUSES as readonly string[]).includes(value)) {
    throw new BadRequest(`status: unknown status "${value}"; one of ${DELIVERY_STATUSES.join(", ")}`);
  }
  return value as DeliveryStatus;
}

/** The filters of GET /api/events (and the dashboard's Find) as the store's EventQuery; a bad value is a 400. */
export function eventQuery(q: { source?: string; type?: string; status?: string; since?: string; until?: string; q?: string; cursor?: string; limit?: string }): EventQuery {
  return {
    source: q.source,
    type: q.type,
    status: statusParam(q.status),
    sinceId: idFloorOf(timeParam("since", q.since)),
    untilId: idFloorOf(timeParam("until", q.until)),
    text: q.q,
    cursor: q.cursor,
    limit: limitParam(q.limit),
  };
}

/** since/until: epoch milliseconds (digits only) or any date Date.parse reads, ISO-8601 above all. */
/** Ids begin with their receive time, so a time bound on events is a bound on their ids. */
function idFloorOf(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : idFloor("evt", ms);
}

function timeParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new BadRequest(`${name}: expected an ISO-8601 time or epoch milliseconds`);
  return ms;
}
