import { Elysia, t } from "elysia";
import { NotFound } from "../errors.ts";
import { adminQueries } from "../store/admin-queries.ts";
import {
  Conflict,
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
  const queries = adminQueries(deps.store);
  return (
    new Elysia({ name: "admin-deliveries" })
      // derive runs before query validation, so an anonymous caller learns nothing about the schema.
      .derive(({ request }) => ({ admin: deps.guard.requireAdmin(request) }))
      .get(
        "/api/deliveries",
        ({ query }) => {
          const page = queries.listDeliveries({
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
  );
}

/** A dead delivery back in line, due now (POST /api/deliveries/:id/retry and the dashboard's Retry). */
export function retryDeadDelivery(deps: AdminDeps, id: string, by: string) {
  const queries = adminQueries(deps.store);
  const found = queries.getDelivery(id);
  if (!found) throw new NotFound("unknown delivery");
  if (found.status !== "dead") throw new Conflict(`delivery is ${found.status}; only a dead delivery can be retried`);
  if (!deps.config().destinations[found.destination]) {
    throw new Conflict(`destination "${found.destination}" is no longer configured`);
  }
  const result = queries.retryDelivery(id, deps.clock.now());
  if (result === "no_body") throw new Conflict("delivery has no body (its transform failed); replay the event to render it again");
  if (result !== "retried") throw new Conflict("delivery is no longer dead");
  deps.log.info("delivery retried", { delivery: id, destination: found.destination, by });
  deps.wake();
  return deliveryView(queries.getDelivery(id)!);
}
