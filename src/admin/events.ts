import { Elysia, t } from "elysia";
import { Conflict, NotFound } from "../errors.ts";
import { newId } from "../ids.ts";
import { plan } from "../routing/plan.ts";
import { nestsDeeperThan } from "../routing/depth.ts";
import type { InboundEvent } from "../routing/event.ts";
import { readVariables } from "../routing/variables.ts";
import { DELIVERY_STATUSES, SEARCH_WINDOW, type StoredEvent } from "../store/admin-queries.ts";
import {
  AttemptSchema,
  CursorSchema,
  DeliverySchema,
  ErrorSchema,
  LimitSchema,
  attemptView,
  authErrors,
  deliveryView,
  eventQuery,
  iso,
  type AdminDeps,
} from "./kit.ts";

const EventSummarySchema = t.Object({
  id: t.String({ description: "evt_…" }),
  source: t.String(),
  type: t.String(),
  receivedAt: t.String({ description: "ISO-8601" }),
  deliveries: t.Record(t.String(), t.Integer(), { description: 'delivery count per status, e.g. {"delivered":1,"dead":1}' }),
});

const EventDetailSchema = t.Object({
  id: t.String(),
  source: t.String(),
  type: t.String(),
  receivedAt: t.String(),
  idempotencyKey: t.Union([t.String(), t.Null()]),
  headers: t.Record(t.String(), t.String(), { description: "stored headers (credentials and signatures are never stored)" }),
  body: t.Unknown({ description: "the body as parsed JSON, or the raw text when it is not JSON" }),
  bodyIsJson: t.Boolean(),
  deliveries: t.Array(
    t.Object({
      ...DeliverySchema.properties,
      body: t.String({ description: "the exact bytes this delivery sends" }),
      history: t.Array(AttemptSchema, { description: "every attempt ever made, oldest first (admin retries keep it)" }),
    }),
  ),
});

/** Admin API for events: list and filter, show with deliveries and attempts, replay. */
export function eventsAdminPlugin(deps: AdminDeps) {
  const queries = deps.store.admin;
  return (
    new Elysia({ name: "admin-events" })
      // derive runs before validation, so an anonymous caller learns nothing about the schema.
      .derive(async ({ request }) => ({ admin: await deps.guard.requireAdmin(request) }))
      .get(
        "/api/events",
        async ({ query }) => {
          const page = await queries.listEvents(eventQuery(query));
          return {
            events: page.items.map((e) => ({ id: e.id, source: e.source, type: e.type, receivedAt: iso(e.receivedAt), deliveries: e.deliveries })),
            nextCursor: page.nextCursor,
            searchedUntil: page.searchedUntil === null ? null : iso(page.searchedUntil),
          };
        },
        {
          query: t.Object({
            source: t.Optional(t.String({ minLength: 1, description: "source name" })),
            type: t.Optional(t.String({ minLength: 1, description: "exact event type" })),
            status: t.Optional(t.String({ enum: [...DELIVERY_STATUSES], description: "events with at least one delivery in this status" })),
            since: t.Optional(t.String({ description: "received at or after this time (ISO-8601 or epoch ms)" })),
            until: t.Optional(t.String({ description: "received before this time (ISO-8601 or epoch ms)" })),
            q: t.Optional(t.String({ minLength: 1, maxLength: 1000, description: "text the raw body contains (% and _ are literal; ASCII case-insensitive)" })),
            cursor: t.Optional(CursorSchema),
            limit: t.Optional(LimitSchema),
          }),
          response: {
            200: t.Object({
              events: t.Array(EventSummarySchema),
              nextCursor: t.Union([t.String(), t.Null()]),
              searchedUntil: t.Union([t.String(), t.Null()], {
                description: "with q: receive time (ISO-8601) of the oldest event this page searched; older events are searched by following nextCursor. null without q",
              }),
            }),
            400: ErrorSchema,
            ...authErrors,
          },
          detail: {
            tags: ["admin"],
            summary: "List events",
            description: `Newest first; filters combine. Pass nextCursor as cursor for the next page (null on the last one). A body search (q) reads at most ${SEARCH_WINDOW} events per page, newest first: a page may hold fewer matches than limit, or none, and still have a nextCursor that searches older events.`,
          },
        },
      )
      .get(
        "/api/events/:id",
        async ({ params }) => {
          const found = await queries.getEvent(params.id);
          if (!found) throw new NotFound("unknown event");
          const { event, deliveries } = found;
          const parsed = parseJson(event.body);
          return {
            id: event.id,
            source: event.source,
            type: event.type,
            receivedAt: iso(event.receivedAt),
            idempotencyKey: event.idempotencyKey,
            headers: event.headers,
            body: parsed.ok ? parsed.value : event.body,
            bodyIsJson: parsed.ok,
            deliveries: deliveries.map((d) => ({ ...deliveryView(d), body: d.body, history: d.history.map(attemptView) })),
          };
        },
        {
          params: t.Object({ id: t.String() }),
          response: { 200: EventDetailSchema, 404: ErrorSchema, ...authErrors },
          detail: { tags: ["admin"], summary: "Show an event", description: "Its body and headers, every delivery with the exact body it sends, and every attempt." },
        },
      )
      .post(
        "/api/events/:id/replay",
        async ({ params, body, set, admin }) => {
          const replayed = await replayEvent(deps, params.id, body?.destination, admin.kind);
          set.status = 201;
          return replayed;
        },
        {
          params: t.Object({ id: t.String() }),
          body: t.Optional(
            t.Object({ destination: t.Optional(t.String({ minLength: 1, description: "only this destination; absent: every destination a current route sends the event to" })) }),
          ),
          response: {
            201: t.Object({ eventId: t.String(), deliveries: t.Array(DeliverySchema) }),
            400: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            ...authErrors,
          },
          detail: {
            tags: ["admin"],
            summary: "Replay an event",
            description:
              "Routes the stored event again with the current routes, transforms and source variables and adds new deliveries (the earlier ones are kept). 404 for an unknown event or destination; 409 when no current route matches, or the event no longer passes its source's variables.",
          },
        },
      )
  );
}

/** The stored event as routing sees it at ingest, with the source's variables read again from the current config. */
function rebuild(event: StoredEvent, variables: Parameters<typeof readVariables>[0]): InboundEvent {
  const parsed = parseJson(event.body);
  if (!parsed.ok) throw new Conflict("the stored body is not JSON");
  const vars = readVariables(variables, parsed.value);
  if (!vars.ok) throw new Conflict(`the event no longer passes its source's variables: ${vars.errors.join("; ")}`);
  return {
    id: event.id,
    source: event.source,
    type: event.type,
    receivedAt: event.receivedAt,
    headers: event.headers,
    body: parsed.value,
    rawBody: event.body,
    variables: vars.values,
  };
}

// Events stored before the depth limit existed may nest deeper than any reader copes with: shown as text.
const VIEW_DEPTH = 512;

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (nestsDeeperThan(text, VIEW_DEPTH)) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** New deliveries for a stored event, routed with the current config (POST /api/events/:id/replay and the dashboard's Replay). */
export async function replayEvent(deps: AdminDeps, id: string, only: string | undefined, by: string) {
  const queries = deps.store.admin;
  const found = await queries.getEvent(id);
  if (!found) throw new NotFound("unknown event");
  const config = deps.config();
  if (only !== undefined && !config.destinations[only]) throw new NotFound(`unknown destination "${only}"`);
  const inbound = rebuild(found.event, config.sources[found.event.source]?.variables ?? []);
  const now = deps.clock.now();
  // Fresh ids and due times: a replay is new work, sorted and sent as of now.
  const rows = (await plan(inbound, config))
    .filter((r) => only === undefined || r.destination === only)
    .map((r) => ({ ...r, id: newId("dlv", now), nextAttemptAt: now }));
  if (rows.length === 0) {
    throw new Conflict(only === undefined ? "no current route matches this event" : `no current route sends this event to "${only}"`);
  }
  await deps.store.addDeliveries({ id: found.event.id, type: found.event.type }, rows, now);
  deps.log.info("event replayed", { event: found.event.id, deliveries: rows.length, destination: only, by });
  deps.wake();
  const added = await Promise.all(rows.map((r) => queries.getDelivery(r.id)));
  return { eventId: found.event.id, deliveries: added.map((d) => deliveryView(d!)) };
}
