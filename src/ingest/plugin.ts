import { Elysia, t } from "elysia";
import type { Guard } from "../auth/guard.ts";
import type { Config } from "../config/types.ts";
import { BadRequest, NotFound, RelayError, Unauthorized } from "../errors.ts";
import type { Accepted } from "./receive.ts";
import { ingestRequestSchema } from "./request-schema.ts";

export interface IngestDeps {
  config: () => Config;
  /** URL id → source name (fixed ids and stored generated ones). */
  sourceUrls: () => Map<string, string>;
  receive: (request: Request, source: Config["sources"][string]) => Promise<Accepted>;
  /** API-key checks; without it, key-only routes refuse every request. */
  auth?: Pick<Guard, "requireIngestKey">;
  /** Each request's outcome (4xx counts as rejected), with its source name once known (metrics). */
  onReceived?: (source: string | null, outcome: "accepted" | "duplicate" | "rejected") => void;
}

const AcceptedSchema = t.Object({
  success: t.Literal(true),
  message: t.String(),
  id: t.String({ description: "event id (evt_…); a repeated idempotency key returns the first event's id" }),
  duplicate: t.Optional(t.Literal(true)),
});
const ErrorSchema = t.Object({ error: t.String(), code: t.String() });
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

export function ingestPlugin(deps: IngestDeps) {
  // Documents the sources configured at start: each one's declared variables, or the typed envelopes.
  const requestBody = {
    required: true,
    content: { "application/json": { schema: ingestRequestSchema(Object.values(deps.config().sources)) } },
  };
  const requireIngestKey = (request: Request, source: string | null) => {
    if (!deps.auth) throw new Unauthorized("API keys are not enabled on this server");
    return deps.auth.requireIngestKey(request, source);
  };
  const observed = async (work: (named: (source: string) => void) => Promise<Accepted>): Promise<Accepted> => {
    let source: string | null = null;
    try {
      const accepted = await work((name) => (source = name));
      deps.onReceived?.(source, accepted.status === 202 ? "accepted" : "duplicate");
      return accepted;
    } catch (error) {
      if (error instanceof RelayError && error.status >= 400 && error.status < 500) deps.onReceived?.(source, "rejected");
      throw error;
    }
  };

  return new Elysia({ name: "ingest" })
    .post(
      "/api/webhook/:source",
      async ({ request, params, set }) => {
        const accepted = await observed(async (named) => {
          const name = deps.sourceUrls().get(params.source);
          const source = name ? deps.config().sources[name] : undefined;
          if (!source) throw new NotFound("unknown source");
          named(source.name);
          if (source.requireApiKey) await requireIngestKey(request, source.name);
          return deps.receive(request, source);
        });
        set.status = accepted.status;
        return accepted.body;
      },
      {
        // The raw bytes are needed for signatures, size limits and passthrough.
        parse: "none",
        params: t.Object({ source: t.String({ description: "the source's URL id (random unless fixed in relay.yaml)" }) }),
        response: { 200: AcceptedSchema, 202: AcceptedSchema, ...errors },
        detail: {
          tags: ["ingest"],
          summary: "Receive a webhook for a source",
          description:
            "JSON only (415 otherwise); body limit per source (413); malformed JSON 400. A source with requireApiKey also needs `x-api-key` or `Authorization: Bearer` with scope webhook:write, bound to this source or unbound (401/403/429). The event and its outbox rows are committed and synced before the 202. 503 with Retry-After when storage is failing, the commit does not finish within server.commit_timeout, or free disk space is below storage.min_free.",
          requestBody,
        },
      },
    )
    .post(
      "/api/webhook",
      async ({ request, set }) => {
        const accepted = await observed(async (named) => {
          const key = await requireIngestKey(request, null);
          if (key.source === null) throw new BadRequest("API key is not bound to a source");
          const source = deps.config().sources[key.source];
          if (!source) throw new NotFound(`API key is bound to source "${key.source}", which is not configured`);
          named(source.name);
          return deps.receive(request, source);
        });
        set.status = accepted.status;
        return accepted.body;
      },
      {
        parse: "none",
        response: { 200: AcceptedSchema, 202: AcceptedSchema, ...errors },
        detail: {
          tags: ["ingest"],
          summary: "Receive a webhook for the source an API key is bound to",
          description:
            "Needs `x-api-key: rly_live_…` or `Authorization: Bearer rly_live_…` with scope webhook:write, bound to a source (400 when unbound). Missing or invalid key 401, wrong scope 403, over the key's rateLimitPerMinute 429 with Retry-After. Then the same checks as the per-source URL.",
          requestBody,
        },
      },
    );
}
