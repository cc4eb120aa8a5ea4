import { afterEach, beforeEach, expect, test } from "bun:test";
import { fsync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { openWalSync, type Fsync } from "../../src/store/wal-sync.ts";
import { tempDir } from "../support/tmp.ts";

let tmp: ReturnType<typeof tempDir>;
let db: Database;
let path: string;
beforeEach(() => {
  tmp = tempDir();
  path = join(tmp.dir, "relay.db");
  db = new Database(path, { create: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("CREATE TABLE t (x)");
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

/** The real fsync, held until the test lets each call through. */
function gatedFsync() {
  const held: Array<() => void> = [];
  let calls = 0;
  const gated: Fsync = (fd, done) => {
    calls++;
    held.push(() => fsync(fd, done));
  };
  return { gated, calls: () => calls, releaseOne: () => held.shift()?.(), held: () => held.length };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

test("a sync resolves only once its fsync has returned", async () => {
  const f = gatedFsync();
  const wal = openWalSync(path, f.gated)!;
  let done = false;
  const synced = wal.sync().then(() => (done = true));
  await tick();
  expect(f.calls()).toBe(1);
  expect(done).toBe(false);
  f.releaseOne();
  await synced;
  expect(done).toBe(true);
  wal.close();
});

test("syncs asked for while one is in flight share the next fsync, which starts after the first returns", async () => {
  const f = gatedFsync();
  const wal = openWalSync(path, f.gated)!;
  const order: string[] = [];
  const first = wal.sync().then(() => order.push("first"));
  // Committed after the first fsync started: the first one cannot cover them.
  const later = [wal.sync(), wal.sync(), wal.sync()].map((p, i) => p.then(() => order.push(`later ${i}`)));
  await tick();
  expect(f.calls()).toBe(1);
  f.releaseOne();
  await first;
  await tick();
  expect(f.calls()).toBe(2);
  expect(order).toEqual(["first"]);
  f.releaseOne();
  await Promise.all(later);
  expect(order).toEqual(["first", "later 0", "later 1", "later 2"]);
  wal.close();
});

test("close syncs at once and settles every waiter; later syncs are refused", async () => {
  const f = gatedFsync();
  const wal = openWalSync(path, f.gated)!;
  const inFlight = wal.sync();
  await tick();
  const waiting = wal.sync();
  wal.close();
  await Promise.all([inFlight, waiting]);
  const refused = await wal.sync().then(() => null, (e: Error) => e.message);
  expect(refused).toMatch(/closed/);
  f.releaseOne();
});

test("an in-memory database has no WAL file to sync", () => {
  expect(openWalSync(":memory:")).toBeNull();
});
