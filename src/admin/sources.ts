import { Elysia, t } from "elysia";
import { authErrors, iso, type AdminDeps } from "./kit.ts";

export interface AdminSourcesDeps extends AdminDeps {
  /** Stores the requests counted since the last batch, so the answer is current. */
  flushUsage?: () => Promise<void>;
}

const SourceSchema = t.Object({
  name: t.String(),
  kind: t.Union([t.String(), t.Null()], { description: "generic or typed; null when the source was removed from the config" }),
  received: t.Integer({ description: "events accepted since the start (duplicates not counted)" }),
  rejected: t.Integer({ description: "requests answered 4xx since the start (bad body, signature, key, size…)" }),
  lastReceivedAt: t.Union([t.String(), t.Null()]),
  since: t.Union([t.String(), t.Null()], { description: "when counting began for this source" }),
});

/** Admin: usage statistics per source (received, rejected, last received), since the start. */
export function sourcesAdminPlugin(deps: AdminSourcesDeps) {
  return new Elysia({ name: "admin-sources" })
    .derive(async ({ request }) => ({ admin: await deps.guard.requireAdmin(request) }))
    .get(
      "/api/sources",
      async () => {
        await deps.flushUsage?.();
        const totals = await deps.store.usage.sources();
        const configured = deps.config().sources;
        const names = [...Object.keys(configured), ...[...totals.keys()].filter((name) => !configured[name])];
        return {
          sources: names.map((name) => {
            const u = totals.get(name);
            return {
              name,
              kind: configured[name]?.kind ?? null,
              received: u?.received ?? 0,
              rejected: u?.rejected ?? 0,
              lastReceivedAt: u?.lastReceivedAt == null ? null : iso(u.lastReceivedAt),
              since: u ? iso(u.since) : null,
            };
          }),
        };
      },
      {
        response: { 200: t.Object({ sources: t.Array(SourceSchema) }), ...authErrors },
        detail: {
          tags: ["admin"],
          summary: "Sources with their usage statistics",
          description:
            "Every configured source, then removed ones that have counts. received, rejected and lastReceivedAt count since the start and survive restarts and retention; requests to an unknown URL id are not attributed to any source.",
        },
      },
    );
}
