// Dashboard render times with 1,000,000 events in the store. Runs alone: `bun bench/ui.ts [count]`.
// Pre-fills with bench/prefill.ts, then shapes the outbox as a month of traffic looks (98% delivered, 1% dead,
// 1% pending, one attempt each, spread over 30 days), starts Relay in-process without the worker, signs in,
// and renders each page 20 times through app.handle. Prints a table and writes bench/ui-results.json.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../src/config/load.ts";
import { createLogger } from "../src/log.ts";
import { startRelay } from "../src/server.ts";

const COUNT = Number(process.argv[2] ?? 1_000_000);
/** --keep: leave the store file for a closer look, and print where it is. */
const KEEP = process.argv.includes("--keep");
const RUNS = 20;
const TOKEN = "bench-ui-token";
const HOUR = 3_600_000;
/** --db=PATH: render over a store a --keep run left, without filling it again. */
const REUSE = process.argv.find((a) => a.startsWith("--db="))?.slice("--db=".length);
const dir = REUSE ? join(REUSE, "..") : mkdtempSync(join(tmpdir(), "relay-bench-ui-"));
const db = join(dir, "relay.db");

const say = (s: string) => console.error(s);

if (!REUSE) await fill();
async function fill() {
say(`pre-filling ${COUNT.toLocaleString("en")} events…`);
const order = JSON.stringify({ type: "order.created", order: { id: 1, total: 99.5, customer: "ACME GmbH", lines: [{ sku: "A-1", qty: 2 }] } });
const prefill = Bun.spawnSync(
  [process.execPath, join(import.meta.dir, "prefill.ts"), JSON.stringify({ root: join(import.meta.dir, ".."), db, count: COUNT, source: "shop", route: "orders", destination: "crm", body: order })],
  { stdout: "pipe", stderr: "inherit" },
);
if (prefill.exitCode !== 0) throw new Error("prefill failed");

say("shaping the outbox (delivered, dead, pending, attempts over 30 days)…");
const { Database } = await import("bun:sqlite");
const shape = new Database(db);
const now = Date.now();
shape.exec("PRAGMA synchronous = OFF");
shape.exec(`UPDATE deliveries SET status = 'delivered', attempts = 1, delivered_at = ${now} - (rowid % 720) * ${HOUR} WHERE rowid % 100 >= 2`);
shape.exec(`UPDATE deliveries SET status = 'dead', attempts = 2, last_error = 'HTTP 500: CRM down' WHERE rowid % 100 = 1`);
shape.exec(`INSERT INTO attempts (delivery_id, started_at, duration_ms, status_code, response, error)
  SELECT id, ${now} - (rowid % 720) * ${HOUR}, 20 + rowid % 200, CASE status WHEN 'dead' THEN 500 ELSE 200 END,
         CASE status WHEN 'dead' THEN 'CRM down' ELSE '{"status":"success"}' END, CASE status WHEN 'dead' THEN 'HTTP 500: CRM down' END
  FROM deliveries WHERE status <> 'pending'`);
shape.exec("ANALYZE");
shape.close();
}
const probe = new (await import("bun:sqlite")).Database(db, { readonly: true });
const anEvent = (probe.query("SELECT event_id AS id FROM deliveries WHERE status = 'dead' ORDER BY id DESC LIMIT 1").get() as { id: string }).id;
probe.close();

const config = parseConfig(
  `
server: { admin_token: ${TOKEN} }
storage: { path: ${db} }
sources: { shop: { id: bench-shop } }
destinations:
  crm: { url: "http://127.0.0.1:9/leads" }
  daily: { url: "http://127.0.0.1:9/digest", digest: { cron: "0 6 * * *", timezone: Europe/Paris } }
routes:
  - { name: orders, from: shop, to: crm }
`,
  join(dir, "relay.yaml"),
  {},
);
const relay = await startRelay(config, { port: 0, hostname: "127.0.0.1", deliver: false, log: createLogger(() => {}, "error") });

const call = (path: string, init: RequestInit = {}) => relay.app.handle(new Request(`http://localhost${path}`, init));
const signIn = await call("/ui/sign-in", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${TOKEN}` });
const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;

const PAGES: Array<[string, string]> = [
  ["Now", "/ui"],
  ["Now (refresh)", "/ui/now/table"],
  ["Find (newest 50)", "/ui/find"],
  ["Find by event id", `/ui/find?q=${anEvent}`],
  ["Find type + status", "/ui/find?type=order.created&status=dead"],
  ["Find text in body", "/ui/find?q=ACME"],
  // Text no body holds: one page reads the newest SEARCH_WINDOW events and offers to search older ones.
  ["Find text in no body", "/ui/find?q=no-such-text"],
  ["Find text, one source, 1 h", `/ui/find?q=no-such-text&source=shop&since=${new Date(Date.now() - HOUR).toISOString()}`],
  ["Event", `/ui/events/${anEvent}`],
  ["Dead letters", "/ui/dead"],
  ["Digests", "/ui/digests"],
  ["Keys", "/ui/keys"],
  ["Config", "/ui/config"],
];

const rows: Array<{ page: string; path: string; medianMs: number; maxMs: number; status: number }> = [];
for (const [page, path] of PAGES) {
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const res = await call(path, { headers: { cookie } });
    await res.text();
    times.push(performance.now() - t0);
    status = res.status;
  }
  times.sort((a, b) => a - b);
  rows.push({ page, path: path.replace(anEvent, "<id>"), medianMs: round(times[RUNS >> 1]!), maxMs: round(times.at(-1)!), status });
  say(`  ${page}: median ${round(times[RUNS >> 1]!)} ms`);
}
await relay.stop(100);
if (KEEP || REUSE) say(`store kept in ${db}`);
else rmSync(dir, { recursive: true, force: true });

function round(ms: number) {
  return Math.round(ms * 10) / 10;
}

const table = [
  `Dashboard render time, ${COUNT.toLocaleString("en")} events, ${RUNS} renders per page, server-side (app.handle to last byte)`,
  "",
  "| page | path | median ms | max ms | status |",
  "| --- | --- | ---: | ---: | ---: |",
  ...rows.map((r) => `| ${r.page} | \`${r.path}\` | ${r.medianMs} | ${r.maxMs} | ${r.status} |`),
].join("\n");
console.log(table);
writeFileSync(join(import.meta.dir, "ui-results.json"), `${JSON.stringify({ count: COUNT, runs: RUNS, at: new Date().toISOString(), pages: rows }, null, 2)}\n`);
process.exit(0);
