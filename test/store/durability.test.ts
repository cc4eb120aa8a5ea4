// The core promise (no 2xx before the event is committed and synced), driven through the writer's own message
// handling on this thread, so the WAL sync an ack waits for can be held, failed and watched.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { fstatSync, fsync, statSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../src/app.ts";
import { ManualClock } from "../../src/clock.ts";
import { parseConfig } from "../../src/config/load.ts";
import { newId } from "../../src/ids.ts";
import { createReceiver } from "../../src/ingest/receive.ts";
import { createLogger } from "../../src/log.ts";
import { openStore, type NewEvent, type Store } from "../../src/store/store.ts";
import type { Fsync } from "../../src/store/wal-sync.ts";
import { writerOnThisThread } from "../../src/store/writer-messages.ts";
import { tempDir } from "../support/tmp.ts";

const T = 1_700_000_000_000;
let tmp: ReturnType<typeof tempDir>;
let path: string;
let store: Store | null;
beforeEach(() => {
  tmp = tempDir();
  path = join(tmp.dir, "relay.db");
  store = null;
});
afterEach(() => {
  store?.close();
  tmp.cleanup();
});

/** Every WAL sync the writer asks for, held until the test lets it through (really) or fails it. */
function gatedSync() {
  const calls: Array<{ fd: number; eventsAtCall: number; done: (error: Error | null) => void }> = [];
  let watch: Database | null = null;
  const fsyncGate: Fsync = (fd, done) => {
    const eventsAtCall = (watch!.query("SELECT count(*) AS n FROM events").get() as { n: number }).n;
    calls.push({ fd, eventsAtCall, done });
  };
  return {
    fsyncGate,
    calls,
    watchWith(db: Database) {
      watch = db;
    },
    release(i = 0) {
      const c = calls[i];
      fsync(c.fd, c.done);
    },
    fail(i = 0) {
      calls[i].done(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    },
  };
}

/** A store whose writer runs on this thread with the gated sync; `committing` is the connection that commits. */
function gatedStore() {
  const gate = gatedSync();
  let committing: Database | null = null;
  const s = openStore(path, {
    writer: (p, busy) =>
      writerOnThisThread(p, busy, {
        fsync: gate.fsyncGate,
        connect: (file) => (committing = new Database(file, { strict: true })),
      }),
  });
  gate.watchWith(s.sqlite);
  store = s;
  return { store: s, gate, committing: () => committing! };
}

const event = (): NewEvent => ({ id: newId("evt", T), source: "crm", type: "t", receivedAt: T, headers: {}, body: "{}" });
const turns = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 1));
};

test("a record is answered only after a WAL sync that started after its commit has returned", async () => {
  const { store, gate } = gatedStore();
  let answered = false;
  const recorded = store.record(event(), []).then((r) => ((answered = true), r));
  await turns();
  expect(gate.calls).toHaveLength(1);
  // The sync started once the group was committed (another connection already sees it) ...
  expect(gate.calls[0].eventsAtCall).toBe(1);
  // ... and it syncs the WAL file itself.
  expect(fstatSync(gate.calls[0].fd).ino).toBe(statSync(`${path}-wal`).ino);
  expect(answered).toBe(false);
  gate.release();
  expect((await recorded).duplicate).toBe(false);
});

test("a failed WAL sync fails the record; nothing answers it as stored", async () => {
  const { store, gate } = gatedStore();
  const recorded = store.record(event(), []).then(() => null, (e: Error) => e.message);
  await turns();
  expect(gate.calls).toHaveLength(1);
  gate.fail();
  expect(await recorded).toMatch(/could not be synced to disk: EIO/);
});

test("the connection that commits an ingest group is in WAL mode and its ack waits for the WAL's fdatasync", async () => {
  // README: SQLite in WAL mode; the reply waits until its own commit is on disk (an fdatasync of the WAL file
  // that started after the commit). synchronous=NORMAL is then enough on that connection: the sync comes after.
  const { store, gate, committing } = gatedStore();
  expect(committing().query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
  const recorded = store.record(event(), []);
  await turns();
  expect(committing().query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 });
  expect(gate.calls.map((c) => c.eventsAtCall)).toEqual([1]);
  gate.release();
  await recorded;
});

test("through HTTP: no 202 while the sync is held, and a failed sync is a 5xx, never a 2xx", async () => {
  const { store, gate } = gatedStore();
  const config = parseConfig(
    `storage:\n  path: ${path}\nsources:\n  crm:\n    id: crm-url-id\ndestinations:\n  sink:\n    url: http://127.0.0.1:9/x\nroutes:\n  - from: crm\n    to: sink\n`,
    join(tmp.dir, "relay.yaml"),
    {},
  );
  const clock = new ManualClock(T);
  const log = createLogger(() => {}, "error");
  const app = createApp({
    log,
    ingest: {
      config: () => config,
      sourceUrls: () => new Map([["crm-url-id", "crm"]]),
      receive: createReceiver({ store, config: () => config, clock, log }),
    },
    health: { pingDatabase: () => store.ping(), startedAt: T, version: "test" },
  });
  const post = () =>
    app
      .handle(new Request("http://localhost/api/webhook/crm-url-id", { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}' }))
      .then((r) => r.status);

  let status = null as number | null;
  const first = post().then((s) => (status = s));
  await turns();
  expect(gate.calls).toHaveLength(1);
  expect(status).toBeNull();
  gate.release();
  await first;
  expect(status).toBe(202);

  const second = post();
  await turns();
  expect(gate.calls).toHaveLength(2);
  gate.fail(1);
  const failed = await second;
  expect(failed).toBeGreaterThanOrEqual(500);
});
