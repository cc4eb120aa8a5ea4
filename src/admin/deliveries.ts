import { Elysia, t } from "elysia";
import { Conflict, NotFound } from "../errors.ts";
import {
  CursorSchema,
  DeliverySchema,
  ErrorSchema,
  LimitSchema,
  StatusSchema,
  authErrors,
  deliveryView,
  limitParam,
  statusParam,
  type AdminDeps,
} from "./kit.ts";

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
        ({ params, admin }) => retryDeadDelivery(deps, params.id, admin.kind),
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
      .post(
        "/api/deliveries/:id/discard",
        ({ params, admin }) => discardDeadDelivery(deps, params.id, admin.kind),
        {
          params: t.Object({ id: t.String() }),
          response: { 200: DeliverySchema, 404: ErrorSchema, 409: ErrorSchema, ...authErrors },
          detail: {
            tags: ["admin"],
            summary: "Discard a dead delivery",
            description:
              "Gives the delivery up: its status becomes discarded, it is never sent again and no longer counts as dead; it stays in the history with its attempts (and its event may then be purged by retention). 409 when it is not dead.",
          },
        },
      )
  );
}

/** A dead delivery back in line, due now (POST /api/deliveries/:id/retry and the dashboard's Retry). */
export async function retryDeadDelivery(deps: AdminDeps, id: string, by: string) {
  const queries = deps.store.admin;
  const found = await queries.getDelivery(id);
  if (!found) throw new NotFound("unknown delivery");
  if (found.status !== "dead") throw new Conflict(`delivery is ${found.status}; only a dead delivery can be retried`);
  if (!deps.config().destinations[found.destination]) {
    throw new Conflict(`destination "${found.destination}" is no longer configured`);
  }
  const result = await queries.retryDelivery(id, deps.clock.now());
  if (result === "no_body") throw new Conflict("delivery has no body (its transform failed); replay the event to render it again");
  if (result !== "retried") throw new Conflict("delivery is no longer dead");
  deps.log.info("delivery retried", { delivery: id, destination: found.destination, by });
  deps.wake();
  return deliveryView((await queries.getDelivery(id))!);
}

/** A dead delivery given up, kept in the history as discarded (POST /api/deliveries/:id/discard and the dashboard's Discard). */
export async function discardDeadDelivery(deps: AdminDeps, id: string, by: string) {
  const queries = deps.store.admin;
  const found = await queries.getDelivery(id);
  if (!found) throw new NotFound("unknown delivery");
  if (!(await queries.discardDelivery(id))) throw new Conflict(`delivery is ${found.status}; only a dead delivery can be discarded`);
  deps.log.info("delivery discarded", { delivery: id, destination: found.destination, by });
  return deliveryView((await queries.getDelivery(id))!);
}
