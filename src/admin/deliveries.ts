import { Elysia, t } from "elysia";
import type { Guard } from "../auth/guard.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config/types.ts";
import { maskUrl } from "../config/describe.ts";
import { BadRequest, NotFound, RelayError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { DELIVERY_STATUSES, type AttemptRow, type DeliveryRow } from "../store/admin-queries.ts";
import type { DeliveryStatus } from "../store/schema.ts";
import type { Store } from "../store/types.ts";

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

// Shapes shared by the admin plugins (events and destinations import them).
export const ErrorSchema = t.Object({ error: t.String() });
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

export class Conflict extends RelayError {
  constructor(message: string) {
    super("conflict", 409, message);
  }
}

/** Admin API for the outbox: list deliveries, retry a dead one. */
export function deliveriesAdminPlugin(deps: AdminDeps) {
  const queries = deps.store.admin;
  return (
    new Elysia({ name: "admin-deliveries" })
      // derive runs before query validation, so an anonymous caller learns nothing about the schema.
      .derive(async ({ request }) => ({ admin: await deps.guard.requireAdmin(request) }))
      .get(
        "/api/deliveries",
        async ({ query }) => {
          const page = await queries.listDeliveries({
            status: statusParam(query.status),
            destination: query.destination,
            cursor: query.cursor,
            limit: limitParam(query.limit),
          });
          return { deliveries: page.items.map(deliveryView), nextCursor: page.nextCursor };
        },
        {
          query: t.Object({
            status: t.Optional(StatusSchema),
            destination: t.Optional(t.String({ minLength: 1, description: "destination name (removed ones too)" })),
            cursor: t.Optional(CursorSchema),
            limit: t.Optional(LimitSchema),
          }),
          response: {
            200: t.Object({ deliveries: t.Array(DeliverySchema), nextCursor: t.Union([t.String(), t.Null()]) }),
            400: ErrorSchema,
            ...authErrors,
          },
          detail: {
            tags: ["admin"],
            summary: "List deliveries",
            description: "Newest first, filtered by status and destination; pass nextCursor as cursor for the next page. Bodies are shown with the event (GET /api/events/{id}).",
          },
        },
      )
      .post(
        "/api/deliveries/:id/retry",
        async ({ params, admin }) => {
          const found = await queries.getDelivery(params.id);
          if (!found) throw new NotFound("unknown delivery");
          if (found.status !== "dead") throw new Conflict(`delivery is ${found.status}; only a dead delivery can be retried`);
          if (!deps.config().destinations[found.destination]) {
            throw new Conflict(`destination "${found.destination}" is no longer configured`);
          }
          const result = await queries.retryDelivery(params.id, deps.clock.now());
          if (result === "no_body") throw new Conflict("delivery has no body (its transform failed); replay the event to render it again");
          if (result !== "retried") throw new Conflict("delivery is no longer dead");
          deps.log.info("delivery retried", { delivery: params.id, destination: found.destination, by: admin.kind });
          deps.wake();
          return deliveryView((await queries.getDelivery(params.id))!);
        },
        {
          params: t.Object({ id: t.String() }),
          response: { 200: DeliverySchema, 404: ErrorSchema, 409: ErrorSchema, ...authErrors },
          detail: {
            tags: ["admin"],
            summary: "Retry a dead delivery",
            description:
              "Puts the delivery back in line, due now. Its attempt history is kept; its attempt counter restarts at 0 so the destination's whole retry schedule applies again. 409 when it is not dead, its destination was removed from the config, or its transform failed (replay the event instead).",
          },
        },
      )
  );
}
