import { Elysia, t } from "elysia";
import type { Config } from "../config/types.ts";
import { NotFound } from "../errors.ts";
import type { Accepted } from "./receive.ts";

export interface IngestDeps {
  config: () => Config;
  /** URL id → source name (fixed ids and stored generated ones). */
  sourceUrls: () => Map<string, string>;
  receive: (request: Request, source: Config["sources"][string]) => Promise<Accepted>;
}

const AcceptedSchema = t.Object({
  success: t.Literal(true),
  message: t.String(),
  id: t.String({ description: "event id (evt_…); a repeated idempotency key returns the first event's id" }),
  duplicate: t.Optional(t.Literal(true)),
});
const ErrorSchema = t.Object({ error: t.String() });

export function ingestPlugin(deps: IngestDeps) {
  return new Elysia({ name: "ingest" }).post(
    "/api/webhook/:source",
    async ({ request, params, set }) => {
      const name = deps.sourceUrls().get(params.source);
      const source = name ? deps.config().sources[name] : undefined;
      if (!source) throw new NotFound("unknown source");
      const accepted = await deps.receive(request, source);
      set.status = accepted.status;
      return accepted.body;
    },
    {
      // The raw bytes are needed for signatures, size limits and passthrough.
      parse: "none",
      params: t.Object({ source: t.String({ description: "the source's URL id (random unless fixed in relay.yaml)" }) }),
      response: { 200: AcceptedSchema, 202: AcceptedSchema, 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema },
      detail: {
        tags: ["ingest"],
        summary: "Receive a webhook for a source",
        description:
          "JSON only (415 otherwise); body limit per source (413); malformed JSON 400. The event and its outbox rows are committed and synced before the 202.",
        requestBody: { required: true, content: { "application/json": { schema: { type: "object", additionalProperties: true } } } },
      },
    },
  );
}
