import { Elysia, t } from "elysia";
import type { DigestScheduler } from "./scheduler.ts";

/** Throws (Unauthorized/Forbidden) when the request does not come from an admin; what it returns is ignored. */
export type AuthorizeAdmin = (request: Request) => unknown;

const FlushSchema = t.Object({
  digests: t.Array(
    t.Object({
      id: t.String({ description: "digest id (dig_…)" }),
      items: t.Integer({ description: "items in this part" }),
      part: t.Integer({ description: "1-based part number" }),
      parts: t.Integer({ description: "parts its window was split into (max_items)" }),
    }),
  ),
  items: t.Integer({ description: "items sent by this flush, all parts together" }),
});
const ErrorSchema = t.Object({ error: t.String(), code: t.String() });

/** Admin: `POST /api/digests/:destination/flush` sends a digest destination's held items now. */
export function digestPlugin(scheduler: Pick<DigestScheduler, "flush">, authorize: AuthorizeAdmin) {
  return new Elysia({ name: "digest" }).post(
    "/api/digests/:destination/flush",
    async ({ request, params }) => {
      await authorize(request);
      const result = await scheduler.flush(params.destination);
      return {
        digests: result.digests.map((d) => ({ id: d.id, items: d.items, part: d.part, parts: d.parts })),
        items: result.items,
      };
    },
    {
      params: t.Object({ destination: t.String({ description: "a destination with a digest schedule" }) }),
      response: { 200: FlushSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema },
      detail: {
        tags: ["admin"],
        summary: "Send a destination's digest now",
        description:
          "Closes every window that is due, then one ending now that takes every item still held; each item goes out in exactly one digest, delivered through the normal outbox. Nothing held: nothing is sent. 404 when the destination is unknown or has no digest.",
      },
    },
  );
}
