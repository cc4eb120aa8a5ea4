// Store-level experiment behind the diagnosis in bench/analysis.md: what one ingest group commit and one
// claim → settle cycle cost, with the project's own openStore, and how connection-level settings change it.
// `bun bench/experiments/store.ts` (BENCH_RELAY_ROOT picks another checkout). Temp files only; bounded loops.
//
// Variants (all on the store's own connection, no change to src/):
//   as shipped            openStore as is: WAL, synchronous=FULL, temp_store default (file)
//   temp_store=MEMORY     the savepoint statement journal stays in memory instead of a temp file
//   synchronous=NORMAL    no fsync per commit (only to show how much of the cost the sync is)
//   … and no list indexes  temp_store=MEMORY plus dropping the admin list/filter indexes and making the digest
//                          index partial: what those index entries cost per ingested event (not a proposal to drop them)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(process.env.BENCH_RELAY_ROOT || join(import.meta.dir, "..", ".."));
const { openStore } = (await import(join(ROOT, "src", "store", "store.ts"))) as typeof import("../../src/store/store.ts");
const { newId } = (await import(join(ROOT, "src", "ids.ts"))) as typeof import("../../src/ids.ts");

const BODY = JSON.stringify({ type: "order.created", order: { orderNumber: "A-10023", total: 129.5, currency: "EUR", customer: { firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" }, items: [{ sku: "SKU-1", qty: 2 }, { sku: "SKU-2", qty: 1 }] } });
const dir = mkdtempSync(join(tmpdir(), "relay-store-exp-"));
type Store = ReturnType<typeof openStore>;

function fresh(name: string, pragmas: string[]): Store {
  const store = openStore(join(dir, `${name}.db`));
  for (const p of pragmas) store.sqlite.exec(p);
  return store;
}

/** write(2)-family calls and bytes of this process so far (/proc/self/io). */
function io(): { calls: number; bytes: number } {
  const s = readFileSync("/proc/self/io", "utf8");
  const v = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, "m").exec(s)?.[1] ?? NaN);
  return { calls: v("syscw"), bytes: v("wchar") };
}

let lastIo = { perEventCalls: NaN, perEventBytes: NaN };

/** Ingest: `groups` group commits of `group` records each (one event + one outbox row per record). */
async function ingest(store: Store, group: number, groups: number): Promise<number> {
  const io0 = io();
  const t0 = performance.now();
  for (let g = 0; g < groups; g++) {
    const now = Date.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < group; i++) {
      pending.push(
        store.record(
          { id: newId("evt", now), source: "bench", type: "order.created", receivedAt: now, headers: { "content-type": "application/json" }, body: BODY },
          [{ id: newId("dlv", now), route: "all", destination: "sink", status: "pending", body: BODY, nextAttemptAt: now }],
        ),
      );
    }
    await Promise.all(pending);
  }
  const rate = (group * groups) / ((performance.now() - t0) / 1000);
  const io1 = io();
  lastIo = { perEventCalls: (io1.calls - io0.calls) / (group * groups), perEventBytes: (io1.bytes - io0.bytes) / (group * groups) };
  return rate;
}

/** Delivery bookkeeping: claim `batch` rows, settle them delivered, `rounds` times. */
function claimSettle(store: Store, batch: number, rounds: number): number {
  const t0 = performance.now();
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const now = Date.now();
    const claimed = store.claim("sink", batch, now + 60_000, 40_000);
    if (claimed.length === 0) break;
    store.settle(
      claimed.map((d) => ({
        deliveryId: d.id,
        attempt: { startedAt: now, durationMs: 1, statusCode: 200, response: '{"status":"success"}', error: null },
        outcome: "delivered" as const,
        at: now,
      })),
    );
    n += claimed.length;
  }
  return n / ((performance.now() - t0) / 1000);
}

const variants: Array<[string, string[]]> = [
  ["as shipped (FULL, temp_store file)", []],
  ["temp_store=MEMORY", ["PRAGMA temp_store = MEMORY"]],
  ["synchronous=NORMAL", ["PRAGMA synchronous = NORMAL"]],
  [
    "temp_store=MEMORY, and no index entry per row for list/filter indexes (what they cost at ingest)",
    [
      "PRAGMA temp_store = MEMORY",
      "DROP INDEX IF EXISTS events_source_id",
      "DROP INDEX IF EXISTS events_type_id",
      "DROP INDEX IF EXISTS deliveries_destination_id",
      "DROP INDEX IF EXISTS deliveries_digest",
      "CREATE INDEX deliveries_digest ON deliveries (digest_id) WHERE digest_id IS NOT NULL",
    ],
  ],
];

const rows: string[] = [];
try {
  for (const [name, pragmas] of variants) {
    const store = fresh(name.replace(/\W+/g, "-"), pragmas);
    await ingest(store, 64, 20); // warm-up
    const g1 = await ingest(store, 1, 1000);
    const g64 = await ingest(store, 64, 150);
    const g64io = lastIo;
    const c1 = claimSettle(store, 1, 2000);
    const c10 = claimSettle(store, 10, 300);
    const c100 = claimSettle(store, 100, 50);
    store.close();
    rows.push(
      `| ${name} | ${fmt(g1)} | ${fmt(g64)} | ${g64io.perEventCalls.toFixed(1)} · ${(g64io.perEventBytes / 1024).toFixed(1)} KB | ${fmt(c1)} | ${fmt(c10)} | ${fmt(c100)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  "| connection setting | ingest, 1 per commit (events/s) | ingest, 64 per commit | write calls · bytes per event at 64 per commit | claim+settle, 1 per txn (deliveries/s) | 10 per txn | 100 per txn |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) console.log(r);

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
