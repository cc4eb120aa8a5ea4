// Store-level experiment behind the diagnosis in bench/analysis.md: what one ingest commit group and one
// claim → settle cycle cost on the writer's connection, run here in one thread with the project's own hotWrites
// (src/store/writes.ts, exactly what the database writer thread runs), and how the durability choice changes it.
// `bun bench/experiments/store.ts` (BENCH_RELAY_ROOT picks another checkout). Temp files only; bounded loops.
//
// Variants (each on a fresh file migrated by openStore, then written through a connection of its own):
//   as shipped            commit with synchronous=NORMAL, then fsync of the WAL file before the group counts as done
//   in-commit FULL        synchronous=FULL: the commit itself syncs (what an in-memory-less fallback would do)
//   no sync               NORMAL and no fsync at all: how much of the cost the sync is (not durable)
//   … no list indexes     as shipped minus the admin list/filter indexes: what their entries cost at ingest
//                         (not a proposal to drop them)
import { Database } from "bun:sqlite";
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(process.env.BENCH_RELAY_ROOT || join(import.meta.dir, "..", ".."));
const { openStore } = (await import(join(ROOT, "src", "store", "store.ts"))) as typeof import("../../src/store/store.ts");
const { hotWrites } = (await import(join(ROOT, "src", "store", "writes.ts"))) as typeof import("../../src/store/writes.ts");
const { newId } = (await import(join(ROOT, "src", "ids.ts"))) as typeof import("../../src/ids.ts");

type Writes = ReturnType<typeof hotWrites>;
const BODY = JSON.stringify({ type: "order.created", order: { orderNumber: "A-10023", total: 129.5, currency: "EUR", customer: { firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" }, items: [{ sku: "SKU-1", qty: 2 }, { sku: "SKU-2", qty: 1 }] } });
const HEADERS = { "content-type": "application/json", host: "127.0.0.1:4000", "content-length": String(BODY.length) };
const dir = mkdtempSync(join(tmpdir(), "relay-store-exp-"));

interface Variant {
  name: string;
  durability: "after-commit" | "in-commit";
  syncWal: boolean;
  dropIndexes: string[];
}

const variants: Variant[] = [
  { name: "as shipped (NORMAL commit, then fsync of the WAL)", durability: "after-commit", syncWal: true, dropIndexes: [] },
  { name: "in-commit sync (synchronous=FULL)", durability: "in-commit", syncWal: false, dropIndexes: [] },
  { name: "no sync (not durable: the sync's share)", durability: "after-commit", syncWal: false, dropIndexes: [] },
  {
    name: "as shipped, without the admin list/filter indexes",
    durability: "after-commit",
    syncWal: true,
    dropIndexes: ["events_source_id", "events_type_id", "deliveries_destination_id"],
  },
];

/** write(2)-family calls and bytes of this process so far (/proc/self/io). */
function io(): { calls: number; bytes: number } {
  const s = readFileSync("/proc/self/io", "utf8");
  const v = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, "m").exec(s)?.[1] ?? NaN);
  return { calls: v("syscw"), bytes: v("wchar") };
}

interface IngestFigures {
  rate: number;
  walPagesPerCommit: number;
  bytesPerEvent: number;
}

/** `groups` commit groups of `group` records each (one event + one outbox row per record). */
function ingest(writes: Writes, walPath: string, sync: (() => void) | null, group: number, groups: number): IngestFigures {
  const io0 = io();
  const wal0 = statSync(walPath).size;
  const t0 = performance.now();
  for (let g = 0; g < groups; g++) {
    const now = Date.now();
    writes.record(
      Array.from({ length: group }, () => ({
        event: { id: newId("evt", now), source: "bench", type: "order.created", receivedAt: now, headers: HEADERS, body: BODY },
        deliveries: [{ id: newId("dlv", now), route: "all", destination: "sink", status: "pending" as const, body: BODY, nextAttemptAt: now }],
      })),
    );
    sync?.();
  }
  const seconds = (performance.now() - t0) / 1000;
  const io1 = io();
  // Checkpoints reset the WAL; with wal_autocheckpoint off here its growth is every frame written.
  const walBytes = statSync(walPath).size - wal0;
  return { rate: (group * groups) / seconds, walPagesPerCommit: walBytes / groups / 4120, bytesPerEvent: (io1.bytes - io0.bytes) / (group * groups) };
}

/** Delivery bookkeeping: claim `batch` rows, settle them delivered, `rounds` times. */
function claimSettle(writes: Writes, batch: number, rounds: number): number {
  const t0 = performance.now();
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const now = Date.now();
    const claimed = writes.claim("sink", batch, now + 60_000, 40_000);
    if (claimed.length === 0) break;
    writes.settle(
      claimed.map((d) => ({
        deliveryId: d.id,
        destination: d.destination,
        attempt: { startedAt: now, durationMs: 1, statusCode: 200, response: '{"status":"success"}', error: null },
        outcome: "delivered" as const,
        at: now,
      })),
    );
    n += claimed.length;
  }
  return n / ((performance.now() - t0) / 1000);
}

const rows: string[] = [];
try {
  for (const v of variants) {
    const path = join(dir, `${v.name.replace(/\W+/g, "-")}.db`);
    openStore(path).close();
    const conn = new Database(path, { strict: true });
    for (const index of v.dropIndexes) conn.exec(`DROP INDEX IF EXISTS ${index}`);
    conn.exec("PRAGMA wal_autocheckpoint = 0");
    conn.query("SELECT count(*) FROM events").get(); // opens the WAL
    const writes = hotWrites(conn, v.durability);
    const walPath = `${path}-wal`;
    const walFd = openSync(walPath, "r");
    const sync = v.syncWal ? () => fsyncSync(walFd) : null;
    ingest(writes, walPath, sync, 64, 20); // warm-up
    const g1 = ingest(writes, walPath, sync, 1, 1000);
    const g32 = ingest(writes, walPath, sync, 32, 300);
    const c1 = claimSettle(writes, 1, 2000);
    const c10 = claimSettle(writes, 10, 300);
    const c100 = claimSettle(writes, 100, 50);
    closeSync(walFd);
    conn.close();
    rows.push(
      `| ${v.name} | ${fmt(g1.rate)} | ${fmt(g32.rate)} | ${g32.walPagesPerCommit.toFixed(1)} · ${(g32.bytesPerEvent / 1024).toFixed(1)} KB | ${fmt(c1)} | ${fmt(c10)} | ${fmt(c100)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  "| writer connection | ingest, 1 per commit (events/s) | ingest, 32 per commit | WAL pages per commit · bytes written per event, at 32 | claim+settle, 1 per txn (deliveries/s) | 10 per txn | 100 per txn |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) console.log(r);

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
