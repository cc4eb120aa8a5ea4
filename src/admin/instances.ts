import { Elysia, t } from "elysia";
import type { Guard } from "../auth/guard.ts";
import type { Clock } from "../clock.ts";
import { LIVE_WITHIN_MS, type InstanceRecord, type Store } from "../store/types.ts";
import { authErrors } from "./kit.ts";

export interface InstanceView extends InstanceRecord {
  live: boolean;
}

/** Instances with their liveness at `now`. */
export function instanceViews(rows: InstanceRecord[], now: number): InstanceView[] {
  return rows.map((r) => ({ ...r, live: now - r.lastSeenAt <= LIVE_WITHIN_MS }));
}

/** What health should warn about: live instances that run different versions or configs. Pure. */
export function instanceWarnings(rows: InstanceRecord[], now: number): string[] {
  const live = instanceViews(rows, now).filter((r) => r.live);
  const warnings: string[] = [];
  const versions = new Set(live.map((r) => r.version));
  if (versions.size > 1) warnings.push(`live instances run different versions: ${[...versions].sort().join(", ")}`);
  const hashes = new Set(live.map((r) => r.configHash));
  if (hashes.size > 1) warnings.push(`live instances run different configs (hashes ${[...hashes].sort().join(", ")})`);
  return warnings;
}

const InstanceSchema = t.Object({
  id: t.String({ description: "lease owner name: $RELAY_INSTANCE_ID, else host:port" }),
  version: t.String(),
  configHash: t.String({ description: "fingerprint of the config it runs" }),
  startedAt: t.String(),
  lastSeenAt: t.String(),
  live: t.Boolean({ description: "seen within the last 15 s" }),
});

export interface InstancesAdminDeps {
  store: Pick<Store, "instances">;
  guard: Pick<Guard, "requireAdmin">;
  clock: Clock;
}

/** GET /api/instances: every Relay that shares this store, with what it runs and whether it is alive. */
export function instancesAdminPlugin(deps: InstancesAdminDeps) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return new Elysia({ name: "admin-instances" })
    .derive(async ({ request }) => ({ admin: await deps.guard.requireAdmin(request) }))
    .get(
      "/api/instances",
      async () => {
        const rows = await deps.store.instances();
        const now = deps.clock.now();
        return {
          instances: instanceViews(rows, now).map((r) => ({ ...r, startedAt: iso(r.startedAt), lastSeenAt: iso(r.lastSeenAt) })),
          warnings: instanceWarnings(rows, now),
        };
      },
      {
        response: { 200: t.Object({ instances: t.Array(InstanceSchema), warnings: t.Array(t.String()) }), ...authErrors },
        detail: {
          tags: ["admin"],
          summary: "Relay instances sharing this store",
          description:
            "One row per instance that ever started on this database (SQLite: this process), oldest first. warnings names live instances that run different versions or configs.",
        },
      },
    );
}
