import { Elysia, t } from "elysia";

/** One check's verdict; extra fields (e.g. freeBytes) are reported beside the status. */
export interface CheckOutcome {
  status: "ok" | "warn" | "failed";
  error?: string;
  [detail: string]: unknown;
}

/** A check throws or answers "failed" when that part cannot work; "warn" is reported without making Relay unhealthy. */
export type HealthCheck = () => CheckOutcome | Promise<CheckOutcome>;

export interface HealthDeps {
  /** Throws when the database cannot answer. */
  pingDatabase: () => Promise<void> | void;
  /** Further checks by name (writer, storage, outbox, instances), run beside the database one, in parallel. */
  checks?: Record<string, HealthCheck>;
  startedAt: number;
  version: string;
}

/** A check that has not answered in this time has failed: health must answer even when a part hangs. */
const CHECK_TIMEOUT_MS = 2_000;

const Check = t.Object(
  {
    status: t.Union([t.Literal("ok"), t.Literal("warn"), t.Literal("failed")]),
    ms: t.Number(),
    error: t.Optional(t.String()),
  },
  { additionalProperties: true },
);
const Health = t.Object({
  status: t.Union([t.Literal("healthy"), t.Literal("unhealthy")]),
  uptime: t.Number({ description: "seconds since start" }),
  totalMs: t.Number(),
  checks: t.Record(t.String(), Check, {
    description:
      "database (a read), writer (a round trip to SQLite's writer thread, or through PostgreSQL's connection pool), storage (writes failing, a commit stuck on the write lock, free bytes beside the SQLite file against storage.min_free), outbox (age of the oldest delivery due first, per destination), instances (PostgreSQL only; warn: live instances sharing the store run different versions or configs)",
  }),
  version: t.String(),
});

export function healthPlugin(deps: HealthDeps) {
  const checks: Record<string, HealthCheck> = {
    database: async () => {
      await deps.pingDatabase();
      return { status: "ok" };
    },
    ...deps.checks,
  };
  return new Elysia({ name: "health" }).get(
    "/api/health",
    async ({ set }) => {
      const t0 = performance.now();
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((name) => run(checks[name])));
      const healthy = results.every((r) => r.status !== "failed");
      if (!healthy) set.status = 503;
      return {
        status: healthy ? ("healthy" as const) : ("unhealthy" as const),
        uptime: round((Date.now() - deps.startedAt) / 1000),
        totalMs: round(performance.now() - t0),
        checks: Object.fromEntries(names.map((name, i) => [name, results[i]])),
        version: deps.version,
      };
    },
    {
      response: { 200: Health, 503: Health },
      detail: { tags: ["operations"], summary: "Health: database, writer, storage (writes, write lock, free space), oldest pending delivery, instances" },
    },
  );
}

async function run(check: HealthCheck): Promise<CheckOutcome & { ms: number }> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    const outcome = await Promise.race([Promise.resolve().then(check), timeout]);
    return { ...outcome, ms: round(performance.now() - t0) };
  } catch (error) {
    return { status: "failed", ms: round(performance.now() - t0), error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;
