// `bun bench/postgres.ts`: only the PostgreSQL phase of `bun run bench` (bench/lib/postgres.ts), for quick runs.
// Writes bench/results-postgres.md (or stdout with BENCH_RESULTS=-).
//
// Environment: BENCH_POSTGRES_URL [$RELAY_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/test],
// BENCH_DURATION [10 s], BENCH_CONNECTIONS [64], BENCH_DELIVERY_CONCURRENCY [10], BENCH_INSTANCES ["1,3"],
// BENCH_POSTGRES_POOL [10], BENCH_DRAIN_TIMEOUT [120 s]. Everything listens on 127.0.0.1; each run uses a fresh
// schema, dropped at the end.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureWrk } from "./lib/load.ts";
import { measurePostgres, postgresTable } from "./lib/postgres.ts";
import { killAll } from "./lib/proc.ts";

const num = (key: string, fallback: number) => {
  const v = Number(process.env[key]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const RESULTS = process.env.BENCH_RESULTS || join(import.meta.dir, "results-postgres.md");
const ORDER = JSON.stringify({ type: "order.created", order: { id: "ord_1001", total: 49.9, currency: "EUR", items: [{ sku: "A1", qty: 2 }] } });
const tmpRoot = mkdtempSync(join(tmpdir(), "relay-bench-pg-"));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => (killAll(), process.exit(130)));

const settings = {
  url: process.env.BENCH_POSTGRES_URL || process.env.RELAY_TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test",
  counts: (process.env.BENCH_INSTANCES || "1,3").split(",").map(Number).filter((n) => n > 0),
  durationS: num("BENCH_DURATION", 10),
  connections: Math.round(num("BENCH_CONNECTIONS", 64)),
  concurrency: Math.round(num("BENCH_DELIVERY_CONCURRENCY", 10)),
  drainTimeoutS: num("BENCH_DRAIN_TIMEOUT", 120),
  pool: Math.round(num("BENCH_POSTGRES_POOL", 10)),
  body: ORDER,
  wrk: await ensureWrk(console.log),
  workDir: tmpRoot,
  log: console.log,
};
let rows;
try {
  rows = await measurePostgres(settings);
} finally {
  rmSync(tmpRoot, { recursive: true, force: true });
}
const text = [
  `PostgreSQL backend, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores shared by PostgreSQL, the relays, the receiver and the load generator.`,
  `Ingest: ${settings.connections} connections spread over the instances for ${settings.durationS} s, delivery held; drain: the ingested`,
  `backlog at concurrency ${settings.concurrency} in total, measured at the receiver.`,
  "",
  postgresTable(rows),
  "",
].join("\n");
if (RESULTS === "-") console.log(`\n${text}`);
else {
  writeFileSync(RESULTS, `# PostgreSQL bench (\`bun bench/postgres.ts\`)\n\n${text}`);
  console.log(`\n${text}\nwritten to ${RESULTS}`);
}
process.exit(0);
