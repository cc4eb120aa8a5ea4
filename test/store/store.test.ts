import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { newId } from "../../src/ids.ts";
import { Database } from "bun:sqlite";
import { openStore, type NewDelivery, type NewEvent, type SqliteStore as Store } from "../../src/store/store.ts";
import { hotWrites } from "../../src/store/writes.ts";
import { writerOnThisThread } from "../../src/store/writer-messages.ts";
import { fsync } from "node:fs";
import { tempDir } from "../support/tmp.ts";

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let path: string;
beforeEach(async () => {
  tmp = tempDir();
  path = join(tmp.dir, "relay.db");
  store = openStore(path);
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

const T = 1_700_000_000_000;
function event(overrides: Partial<NewEvent> = {}): NewEvent {
  return { id: newId("evt", T), source: "shop", type: "order", receivedAt: T, headers: { "x-a": "1" }, body: '{"a":1}', ...overrides };
}
function delivery(destination = "crm", overrides: Partial<NewDelivery> = {}): NewDelivery {
  return { id: newId("dlv", T), route: "r", destination, status: "pending", body: "{}", nextAttemptAt: T, ...overrides };
}
const count = (sql: string) => (store.sqlite.query(sql).get() as { n: number }).n;

describe("record", () => {
  test("writes the event and its outbox rows, durable settings on the connection that commits", async () => {
    // The writer's own message handling on this thread, so its connection and its WAL syncs can be watched.
    store.close();
    let committing: Database | null = null;
    let syncs = 0;
    store = openStore(path, {
      writer: (p, busy) =>
        writerOnThisThread(p, busy, {
          connect: (file) => (committing = new Database(file, { strict: true })),
          fsync: (fd, done) => (syncs++, fsync(fd, done)),
        }),
    });
    const r = await store.record(event(), [delivery("crm"), delivery("slack")]);
    expect(r.duplicate).toBe(false);
    expect(count("SELECT count(*) AS n FROM events")).toBe(1);
    expect(count(`SELECT count(*) AS n FROM deliveries WHERE event_id = '${r.eventId}'`)).toBe(2);
    expect(committing!.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    // The commit itself does not sync (NORMAL); its ack waited for an fdatasync of the WAL (durability.test.ts).
    expect(committing!.query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 });
    expect(syncs).toBe(1);
  });

  test("one transaction: a failing outbox row leaves no event behind", async () => {
    const d = delivery();
    await store.record(event(), [d]);
    const before = count("SELECT count(*) AS n FROM events");
    // Reusing a delivery id violates its primary key half-way through the second record.
    // (Awaited by hand: expect().rejects waits in a way that does not take the writer thread's answer.)
    const failure = await store.record(event(), [delivery(), d]).then(() => null, (e: Error) => e);
    expect(failure?.message).toContain("UNIQUE constraint failed");
    expect(count("SELECT count(*) AS n FROM events")).toBe(before);
    expect(count("SELECT count(*) AS n FROM deliveries")).toBe(1);
  });

  test("concurrent records share one commit and each resolves with its own id", async () => {
    let commits = 0;
    store.onCommit(() => commits++);
    const events = Array.from({ length: 50 }, () => event());
    const results = await Promise.all(events.map((e) => store.record(e, [delivery()])));
    expect(results.map((r) => r.eventId)).toEqual(events.map((e) => e.id));
    expect(commits).toBe(1);
    expect(count("SELECT count(*) AS n FROM deliveries")).toBe(50);
  });

  test("a repeated idempotency key returns the first event and enqueues nothing", async () => {
    const first = await store.record(event({ idempotencyKey: "k1" }), [delivery()]);
    const again = await store.record(event({ idempotencyKey: "k1" }), [delivery()]);
    const otherSource = await store.record(event({ idempotencyKey: "k1", source: "chat" }), [delivery()]);
    expect(again).toEqual({ eventId: first.eventId, duplicate: true });
    expect(otherSource.duplicate).toBe(false);
    expect(count("SELECT count(*) AS n FROM deliveries")).toBe(2);
  });

  test("data survives closing and reopening the file", async () => {
    const r = await store.record(event(), [delivery()]);
    await store.close();
    store = openStore(path);
    expect((await store.claim("crm", 10, T, 1000)).map((d) => d.eventId)).toEqual([r.eventId]);
  });

  test("closing checkpoints the WAL into the file and removes it, after a retention batch ran on the writer", async () => {
    await store.record(event(), [delivery()]);
    await store.purgeBatch(newId("evt", T + 1), "", 100);
    expect(existsSync(`${path}-wal`)).toBe(true);
    await store.close();
    // A statement left unfinalized on either connection keeps SQLite from checkpointing at close.
    expect(existsSync(`${path}-wal`)).toBe(false);
    store = openStore(path);
  });
});

describe("claim and settle", () => {
  test("claims only due, pending rows of the destination, up to the limit, oldest first", async () => {
    await store.record(event(), [
      delivery("crm", { nextAttemptAt: T + 2 }),
      delivery("crm", { nextAttemptAt: T + 1 }),
      delivery("crm", { nextAttemptAt: T + 5000 }),
      delivery("slack"),
      delivery("crm", { status: "held_for_digest" }),
    ]);
    const claimed = await store.claim("crm", 10, T + 10, 30_000);
    expect(claimed.map((c) => c.createdAt)).toEqual([T, T]);
    expect(await store.claim("crm", 10, T + 10, 30_000)).toEqual([]);
    expect(await store.claim("slack", 1, T, 30_000)).toHaveLength(1);
    expect(await store.nextDueAt("crm")).toBe(T + 5000);
  });

  test("bookkeeping on the writer's connection never syncs; an in-commit ingest group does, then stops", async () => {
    // The writer thread runs exactly these statements on its own connection; here they run on one we can inspect.
    await store.record(event(), [delivery()]);
    const conn = new Database(path, { strict: true });
    try {
      const writes = hotWrites(conn, "in-commit");
      const [d] = writes.claim("crm", 1, T, 30_000);
      writes.settle([{ deliveryId: d.id, destination: d.destination, attempt: { startedAt: T, durationMs: 1, statusCode: 200, response: "", error: null }, outcome: "delivered", at: T }]);
      writes.releaseExpiredLeases(T);
      expect(conn.query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 });
      expect(writes.record([{ event: event(), deliveries: [] }])).toHaveLength(1);
      expect(conn.query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 });
    } finally {
      conn.close();
    }
  });

  test("an expired lease puts the delivery back in line; a live one does not", async () => {
    await store.record(event(), [delivery()]);
    const [d] = await store.claim("crm", 1, T, 30_000);
    expect(await store.releaseExpiredLeases(T + 29_999)).toBe(0);
    expect(await store.releaseExpiredLeases(T + 30_001)).toBe(1);
    expect((await store.claim("crm", 1, T + 30_001, 30_000))[0].id).toBe(d.id);
  });

  test("settle records the attempt and moves the row", async () => {
    await store.record(event(), [delivery(), delivery(), delivery()]);
    const [a, b, c] = await store.claim("crm", 3, T, 30_000);
    const attempt = { startedAt: T, durationMs: 5, statusCode: 500, response: "oops", error: "status 500" };
    await store.settle([
      { deliveryId: a.id, destination: a.destination, attempt: { ...attempt, statusCode: 200, error: null }, outcome: "delivered", at: T + 5 },
      { deliveryId: b.id, destination: b.destination, attempt, outcome: "retry", nextAttemptAt: T + 60_000, error: "status 500" },
      { deliveryId: c.id, destination: c.destination, attempt, outcome: "dead", error: "status 500" },
    ]);
    const rows = store.sqlite
      .query("SELECT id, status, attempts, next_attempt_at AS next, last_error AS err FROM deliveries ORDER BY id")
      .all() as Array<{ id: string; status: string; attempts: number; next: number; err: string | null }>;
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[a.id]).toMatchObject({ status: "delivered", attempts: 1, err: null });
    expect(byId[b.id]).toMatchObject({ status: "pending", attempts: 1, next: T + 60_000, err: "status 500" });
    expect(byId[c.id]).toMatchObject({ status: "dead", attempts: 1 });
    expect(count("SELECT count(*) AS n FROM attempts")).toBe(3);
    expect(await store.claim("crm", 10, T + 59_999, 1000)).toEqual([]);
    expect((await store.claim("crm", 10, T + 60_000, 1000)).map((d) => d.id)).toEqual([b.id]);
  });

  test("the claim query walks the (status, destination, next_attempt_at) index, not the table", async () => {
    const plan = store.sqlite
      .query(
        `EXPLAIN QUERY PLAN SELECT id FROM deliveries WHERE status = 'pending' AND destination = 'crm'
         AND next_attempt_at <= 1 ORDER BY next_attempt_at LIMIT 10`,
      )
      .all() as Array<{ detail: string }>;
    const text = plan.map((p) => p.detail).join("\n");
    expect(text).toContain("USING INDEX deliveries_due");
    expect(text).not.toContain("TEMP B-TREE");
    expect(text).not.toMatch(/SCAN deliveries(?! USING)/);
  });
});

test("a database from a newer Relay is refused, not downgraded", async () => {
  store.sqlite.exec("PRAGMA user_version = 99");
  await store.close();
  expect(() => openStore(path)).toThrow(/newer than this Relay/);
  store = openStore(join(tmp.dir, "other.db"));
});

test("one failing record in a commit group fails alone", async () => {
  const d = delivery();
  await store.record(event(), [d]);
  const good = event();
  const [bad, ok] = await Promise.allSettled([store.record(event(), [d]), store.record(good, [delivery()])]);
  expect(bad.status).toBe("rejected");
  expect(ok).toEqual({ status: "fulfilled", value: { eventId: good.id, duplicate: false } });
  expect(count("SELECT count(*) AS n FROM events")).toBe(2);
});

test("digest lookups use the partial digest index", async () => {
  const plan = store.sqlite.query("EXPLAIN QUERY PLAN SELECT id FROM deliveries WHERE digest_id = 'dig_1'").all() as Array<{ detail: string }>;
  expect(plan.map((p) => p.detail).join("\n")).toContain("USING INDEX deliveries_digest");
  const sql = (store.sqlite.query("SELECT sql FROM sqlite_master WHERE name = 'deliveries_digest'").get() as { sql: string }).sql;
  expect(sql).toContain("WHERE digest_id IS NOT NULL");
});

describe("the writer thread", () => {
  test("commits while this thread goes on, and an ack waits for its commit", async () => {
    // Another connection holds the write lock: the writer thread waits for it, this thread does not.
    const other = new Database(path, { strict: true });
    try {
      other.exec("BEGIN IMMEDIATE");
      let acked = false;
      const recorded = store.record(event(), [delivery()]).then((r) => {
        acked = true;
        return r;
      });
      const ticks = await new Promise<number>((resolve) => {
        let n = 0;
        const tick = () => (++n === 20 ? resolve(n) : setTimeout(tick, 1));
        tick();
      });
      expect(ticks).toBe(20);
      expect(acked).toBe(false);
      expect(count("SELECT count(*) AS n FROM events")).toBe(0);
      other.exec("COMMIT");
      const r = await recorded;
      expect(count("SELECT count(*) AS n FROM events")).toBe(1);
      expect(r.duplicate).toBe(false);
    } finally {
      other.close();
    }
  });

  test("close answers everything already asked and keeps it", async () => {
    const events = Array.from({ length: 20 }, () => event());
    const pending = events.map((e) => store.record(e, [delivery()]));
    await store.close();
    const results = await Promise.all(pending);
    expect(results.map((r) => r.eventId)).toEqual(events.map((e) => e.id));
    const afterClose = await store.record(event(), []).then(() => null, (e: Error) => e);
    expect(afterClose?.message).toMatch(/closed/);
    store = openStore(path);
    expect(count("SELECT count(*) AS n FROM events")).toBe(20);
    expect(count("SELECT count(*) AS n FROM deliveries")).toBe(20);
  });

  test("a crowd larger than one group is committed in several, every request answered", async () => {
    let commits = 0;
    store.onCommit(() => commits++);
    const events = Array.from({ length: 2_500 }, () => event());
    const results = await Promise.all(events.map((e) => store.record(e, [delivery()])));
    expect(results.map((r) => r.eventId)).toEqual(events.map((e) => e.id));
    expect(commits).toBe(3);
    expect(count("SELECT count(*) AS n FROM events")).toBe(2_500);
  });

  test("close sends every group still queued, not only the first", async () => {
    const events = Array.from({ length: 1_500 }, () => event());
    const pending = events.map((e) => store.record(e, []));
    await store.close();
    expect((await Promise.all(pending)).length).toBe(1_500);
    store = openStore(path);
    expect(count("SELECT count(*) AS n FROM events")).toBe(1_500);
  });

  test("an in-memory database writes inline on its one connection", async () => {
    const memory = openStore(":memory:");
    try {
      const r = await memory.record(event(), [delivery()]);
      const [claimed] = await memory.claim("crm", 10, T, 1000);
      expect(claimed.eventId).toBe(r.eventId);
    } finally {
      memory.close();
    }
  });
});
