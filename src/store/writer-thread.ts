// Entry of the database writer thread: owns the connection that makes the hot-path writes, so SQLite's work and
// its fsyncs run beside the HTTP thread instead of on it. Requests are carried out in the order they arrive.
import { Database } from "bun:sqlite";
import { openWalSync, type WalSync } from "./wal-sync.ts";
import { OPEN_FAILED, OPENED, writeOpenError, type WriterReply, type WriterRequest } from "./writer.ts";
import { hotWrites, messageOf, type HotWrites } from "./writes.ts";

declare const self: Worker;

let sqlite: Database | null = null;
let writes: HotWrites | null = null;
let wal: WalSync | null = null;

const reply = (message: WriterReply) => self.postMessage(message);

self.onmessage = (e: MessageEvent<WriterRequest>) => {
  const m = e.data;
  if (m.op === "open") {
    const state = new Int32Array(m.opened, 0, 1);
    try {
      sqlite = new Database(m.path, { strict: true });
      sqlite.exec(`PRAGMA busy_timeout = ${m.busyTimeoutMs}`);
      // The opener already put the file in WAL mode and holds it open, so the WAL file is there, and it stays the
      // same file while any connection is open (SQLite removes it only when the last one closes).
      wal = openWalSync(m.path);
      writes = hotWrites(sqlite, wal ? "after-commit" : "in-commit");
      Atomics.store(state, 0, OPENED);
    } catch (error) {
      writeOpenError(m.opened, `cannot open ${m.path} for writing: ${messageOf(error)}`);
      Atomics.store(state, 0, OPEN_FAILED);
    }
    Atomics.notify(state, 0);
    return;
  }
  if (m.op === "close") {
    // Syncs and settles the groups still waiting for an fsync; their answers go out before the thread ends.
    wal?.close();
    setImmediate(() => {
      sqlite?.close();
      const done = new Int32Array(m.done);
      Atomics.store(done, 0, 1);
      Atomics.notify(done, 0);
      process.exit(0);
    });
    return;
  }
  if (!writes) return reply({ id: m.id, error: "the database writer is not open" });
  let value: unknown;
  try {
    value = (writes[m.op] as (...args: unknown[]) => unknown)(...m.args);
  } catch (error) {
    return reply({ id: m.id, error: messageOf(error) });
  }
  // An ingest group is acknowledged once its commit is on disk; the next group is written meanwhile.
  if (m.op === "record" && wal) {
    wal.sync().then(
      () => reply({ id: m.id, value }),
      (error) => reply({ id: m.id, error: `the commit could not be synced to disk: ${messageOf(error)}` }),
    );
  } else {
    reply({ id: m.id, value });
  }
};
