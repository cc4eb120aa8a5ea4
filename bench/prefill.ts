// Pre-fills a Relay SQLite file with `count` pending events (one outbox row each), without HTTP.
// `bun bench/prefill.ts '{"db":"…","count":1000000,"source":"bench","route":"all","destination":"sink","body":"{…}"}'`
// The file is opened with the project's own openStore (so its migrations run) and written through the
// store's own `record` verb, queued in big groups so that each group is one transaction and one sync.
// Prints {"count":…,"seconds":…}.
import { join } from "node:path";

interface PrefillOptions {
  /** Checkout root whose src/ provides openStore and newId. */
  root: string;
  db: string;
  count: number;
  source: string;
  route: string;
  destination: string;
  /** A JSON object body, as a sender would post it. */
  body: string;
  type?: string;
  batch?: number;
}

const o = JSON.parse(process.argv[2] ?? "{}") as PrefillOptions;
const { openStore } = (await import(join(o.root, "src", "store", "store.ts"))) as typeof import("../src/store/store.ts");
const { newId } = (await import(join(o.root, "src", "ids.ts"))) as typeof import("../src/ids.ts");
const type = o.type ?? "order.created";
const batch = o.batch ?? 25_000;
const data = JSON.parse(o.body);
const t0 = performance.now();
const store = openStore(o.db);
// Bench-only, this connection: the pre-fill need not survive a power cut, so skip the per-commit sync.
store.sqlite.exec("PRAGMA synchronous = OFF");
// record() wraps each event in a savepoint; keep the savepoints' statement journal in memory rather than
// in a temp file (thousands of 4 KB pwrite calls per group otherwise), and give the group a big page cache.
store.sqlite.exec("PRAGMA temp_store = MEMORY");
store.sqlite.exec("PRAGMA cache_size = -262144");
let written = 0;
while (written < o.count) {
  const n = Math.min(batch, o.count - written);
  const now = Date.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const seq = written + i;
    const body = JSON.stringify({ seq, ...data });
    pending.push(
      store.record(
        { id: newId("evt", now), source: o.source, type, receivedAt: now, headers: { "content-type": "application/json" }, body },
        [
          {
            id: newId("dlv", now),
            route: o.route,
            destination: o.destination,
            status: "pending",
            // The route's default envelope transform, rendered as ingest would.
            body: JSON.stringify({ event: type, timestamp: new Date(now).toISOString(), data: { seq, ...data } }),
            nextAttemptAt: now,
          },
        ],
      ),
    );
  }
  await Promise.all(pending); // one group commit
  written += n;
}
store.close();
console.log(JSON.stringify({ count: written, seconds: (performance.now() - t0) / 1000 }));
process.exit(0);
