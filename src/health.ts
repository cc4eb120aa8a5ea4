import { Elysia, t } from "elysia";

export interface HealthDeps {
  /** Throws when the database cannot answer. */
  pingDatabase: () => Promise<void> | void;
  /** Things an operator should know that do not make Relay unhealthy (instances that disagree). */
  warnings?: () => Promise<string[]>;
  startedAt: number;
  version: string;
}

const Check = t.Object({ status: t.Union([t.Literal("ok"), t.Literal("failed")]), ms: t.Number(), error: t.Optional(t.String()) });
const Health = t.Object({
  status: t.Union([t.Literal("healthy"), t.Literal("unhealthy")]),
  uptime: t.Number({ description: "seconds since start" }),
  totalMs: t.Number(),
  checks: t.Object({ database: Check }),
  version: t.String(),
  warnings: t.Optional(t.Array(t.String(), { description: "e.g. live instances running different versions or configs" })),
});

export function healthPlugin(deps: HealthDeps) {
  return new Elysia({ name: "health" }).get(
    "/api/health",
    async ({ set }) => {
      const t0 = performance.now();
      let database: { status: "ok" | "failed"; ms: number; error?: string };
      try {
        await deps.pingDatabase();
        database = { status: "ok", ms: round(performance.now() - t0) };
      } catch (error) {
        database = { status: "failed", ms: round(performance.now() - t0), error: (error as Error).message };
      }
      const healthy = database.status === "ok";
      const warnings = healthy && deps.warnings ? await deps.warnings().catch(() => []) : [];
      if (!healthy) set.status = 503;
      return {
        status: healthy ? ("healthy" as const) : ("unhealthy" as const),
        uptime: round((Date.now() - deps.startedAt) / 1000),
        totalMs: round(performance.now() - t0),
        checks: { database },
        version: deps.version,
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    },
    { response: { 200: Health, 503: Health }, detail: { tags: ["operations"], summary: "Liveness and database check" } },
  );
}

const round = (n: number) => Math.round(n * 1000) / 1000;
