import { Elysia, t } from "elysia";
import type { Guard } from "../auth/guard.ts";
import { KEY_PREFIX, keySource, SCOPES, type ApiKeyRecord, type ApiKeys } from "../auth/keys.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config/types.ts";
import { NotFound } from "../errors.ts";
import type { Logger } from "../log.ts";
import { iso } from "./kit.ts";

export interface AdminKeysDeps {
  keys: ApiKeys;
  guard: Pick<Guard, "requireAdmin">;
  config: () => Config;
  clock: Clock;
  log: Logger;
}

// A plain string with the enum documented: createKey rejects other scopes with a clearer message than a union mismatch.
const ScopeSchema = t.String({ enum: [...SCOPES], description: `one of ${SCOPES.join(", ")}` });

const NewKeySchema = t.Object({
  name: t.String({ minLength: 1, maxLength: 200, description: "who or what uses the key" }),
  scopes: t.Optional(t.Array(ScopeSchema, { minItems: 1, uniqueItems: true, description: 'default ["webhook:write"]' })),
  rateLimitPerMinute: t.Optional(t.Number({ minimum: 1, maximum: 1_000_000, multipleOf: 1, description: "whole requests per minute; default 600" })),
  source: t.Optional(
    t.Union([t.String({ minLength: 1 }), t.Null()], {
      description:
        "source the key ingests into on POST /api/webhook. Absent: the only typed source, else the only source (400 when that is ambiguous). null: unbound, for sources with require_api_key",
    }),
  ),
});

const keyFields = {
  id: t.String({ description: "10-character key id; the key itself starts with rly_live_<id>_" }),
  name: t.String(),
  scopes: t.Array(t.String()),
  rateLimitPerMinute: t.Union([t.Integer(), t.Null()]),
  source: t.Union([t.String(), t.Null()]),
  createdAt: t.String({ description: "ISO-8601" }),
};
const CreatedKeySchema = t.Object({ ...keyFields, key: t.String({ description: "the full key; returned only by this call" }) });
const KeySchema = t.Object({
  ...keyFields,
  prefix: t.String({ description: "the key's public start, rly_live_<id>_, to recognise it" }),
  lastUsedAt: t.Union([t.String(), t.Null()]),
  revokedAt: t.Union([t.String(), t.Null()]),
});
const ErrorSchema = t.Object({ error: t.String(), code: t.String() });
const authErrors = { 401: ErrorSchema, 403: ErrorSchema, 429: ErrorSchema };

/** Admin API for keys: create (the secret is shown once), list, revoke. Every route needs the admin token or an admin-scoped key. */
export function apiKeysAdminPlugin(deps: AdminKeysDeps) {
  return (
    new Elysia({ name: "admin-api-keys" })
      // derive runs before body validation, so an anonymous caller learns nothing about the schema.
      .derive(async ({ request }) => ({ admin: await deps.guard.requireAdmin(request) }))
      .post(
        "/api/api-keys",
        async ({ body, set, admin }) => {
          const scopes = body.scopes ?? ["webhook:write"];
          const source = keySource(deps.config().sources, scopes, body.source);
          const created = await deps.keys.createKey(
            { name: body.name, scopes, rateLimitPerMinute: body.rateLimitPerMinute, source },
            deps.clock.now(),
          );
          const r = created.record;
          deps.log.info("api key created", { id: r.id, name: r.name, scopes: r.scopes, source: r.source, by: admin.kind });
          set.status = 201;
          return {
            id: r.id,
            key: created.key,
            name: r.name,
            scopes: r.scopes,
            rateLimitPerMinute: r.rateLimitPerMinute,
            source: r.source,
            createdAt: iso(r.createdAt),
          };
        },
        {
          body: NewKeySchema,
          response: { 201: CreatedKeySchema, 400: ErrorSchema, ...authErrors },
          detail: { tags: ["admin"], summary: "Create an API key", description: "The response is the only place the key ever appears; only its hash is stored." },
        },
      )
      .get("/api/api-keys", async () => ({ keys: (await deps.keys.list()).map(view) }), {
        response: { 200: t.Object({ keys: t.Array(KeySchema) }), ...authErrors },
        detail: { tags: ["admin"], summary: "List API keys", description: "Revoked keys included; never a secret or hash." },
      })
      .delete(
        "/api/api-keys/:id",
        async ({ params, admin }) => {
          if (!(await deps.keys.revoke(params.id, deps.clock.now()))) throw new NotFound("unknown API key");
          deps.log.info("api key revoked", { id: params.id, by: admin.kind });
          return { revoked: true as const };
        },
        {
          params: t.Object({ id: t.String() }),
          response: { 200: t.Object({ revoked: t.Literal(true) }), 404: ErrorSchema, ...authErrors },
          detail: { tags: ["admin"], summary: "Revoke an API key", description: "Takes effect on the next request; revoking twice is harmless." },
        },
      )
  );
}

function view(r: ApiKeyRecord) {
  return {
    id: r.id,
    prefix: `${KEY_PREFIX}${r.id}_`,
    name: r.name,
    scopes: r.scopes,
    rateLimitPerMinute: r.rateLimitPerMinute,
    source: r.source,
    createdAt: iso(r.createdAt),
    lastUsedAt: r.lastUsedAt === null ? null : iso(r.lastUsedAt),
    revokedAt: r.revokedAt === null ? null : iso(r.revokedAt),
  };
}

