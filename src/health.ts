import { Elysia, t } from "elysia";

export interface HealthDeps {
  /** Throws when the database cannot answer. */
  pingDatabase: () => void;
  /** Whether writes succeed (no failures, no commit stuck on the write lock, space above the floor); answers at once. */
  storage?: () => { ok: true } | { ok: false; reason: string };
  startedAt: number;
  version: string;
}

const Check = t.Object({ status: t.Union([t.Literal("ok"), t.Literal("failed")]), ms: t.Number(), error: t.Optional(t.String()) });
const Health = t.Object({
  status: t.Union([t.Literal("healthy"), t.Literal("unhealthy")]),
  uptime: t.Number({ description: "seconds since start" }),
  totalMs: t.Number(),
  checks: t.Object({ database: Check, storage: t.Optional(Check) }),
  version: t.String(),
});

export function healthPlugin(deps: HealthDeps) {
  return new Elysia({ name: "health" }).get(
    "/api/health",
    ({ set }) => {
      const t0 = performance.now();
      let database: { status: "ok" | "failed"; ms: number; error?: string };
      try {
        deps.pingDatabase();
        database = { status: "ok", ms: round(performance.now() - t0) };
      } catch (error) {
        database = { status: "failed", ms: round(performance.now() - t0), error: (error as Error).message };
      }
      const writes = deps.storage?.();
      const storage = writes && (writes.ok ? { status: "ok" as const, ms: 0 } : { status: "failed" as const, ms: 0, error: writes.reason });
      const healthy = database.status === "ok" && storage?.status !== "failed";
      if (!healthy) set.status = 503;
      return {
        status: healthy ? ("healthy" as const) : ("unhealthy" as const),
        uptime: round((Date.now() - deps.startedAt) / 1000),
        totalMs: round(performance.now() - t0),
        checks: storage ? { database, storage } : { database },
        version: deps.version,
      };
    },
    { response: { 200: Health, 503: Health }, detail: { tags: ["operations"], summary: "Liveness and database check" } },
  );
}

const round = (n: number) => Math.round(n * 1000) / 1000;
