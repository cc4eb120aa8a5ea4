import { Elysia, t } from "elysia";
import type { Guard } from "../auth/guard.ts";
import type { Config } from "../config/types.ts";
import { NotFound } from "../errors.ts";

type State = "closed" | "open" | "half_open" | "paused";

export interface CircuitAdminDeps {
  guard: Pick<Guard, "requireAdmin">;
  config: () => Config;
  /** The delivery worker's overrides; each returns the destination's state afterwards. */
  pause: (destination: string) => State;
  resume: (destination: string) => State;
}

const StateSchema = t.Object({
  name: t.String(),
  state: t.Union([t.Literal("closed"), t.Literal("open"), t.Literal("half_open"), t.Literal("paused")], {
    description: "closed: sending; open: failing, waiting for the next probe; half_open: one probe in flight; paused: stopped by an admin",
  }),
});
const ErrorSchema = t.Object({ error: t.String(), code: t.String() });
const responses = { 200: StateSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema };
const params = t.Object({ name: t.String({ description: "destination name from relay.yaml" }) });

/** Manual overrides of a destination's circuit breaker. Every route needs the admin token or an admin-scoped key. */
export function circuitAdminPlugin(deps: CircuitAdminDeps) {
  const known = (name: string) => {
    if (!Object.hasOwn(deps.config().destinations, name)) throw new NotFound(`unknown destination "${name}"`);
    return name;
  };
  return new Elysia({ name: "admin-circuit" })
    .derive(async ({ request }) => ({ admin: await deps.guard.requireAdmin(request) }))
    .post("/api/destinations/:name/pause", ({ params }) => ({ name: params.name, state: deps.pause(known(params.name)) }), {
      params,
      response: responses,
      detail: {
        tags: ["admin"],
        summary: "Pause deliveries to a destination",
        description:
          "Nothing more is claimed for the destination until it is resumed; attempts in flight finish. Waiting deliveries keep their attempts. The pause lasts until resume or a restart.",
      },
    })
    .post("/api/destinations/:name/resume", ({ params }) => ({ name: params.name, state: deps.resume(known(params.name)) }), {
      params,
      response: responses,
      detail: {
        tags: ["admin"],
        summary: "Resume deliveries to a destination",
        description: "Lifts a pause and closes an open circuit breaker: the destination's due deliveries are sent at once.",
      },
    });
}
