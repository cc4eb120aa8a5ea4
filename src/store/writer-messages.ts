// What the database writer thread does with each message, as a plain function: the thread (writer-thread.ts) only
// wires it to postMessage, so the promise "an ack waits for its sync" can be driven and tested without a thread.
import { Database } from "bun:sqlite";
import { fdatasync } from "node:fs";
import { openWalSync, type Fsync, type WalSync } from "./wal-sync.ts";
import {
  OPEN_FAILED,
  OPENED,
  OPENED_BYTES,
  readOpenError,
  writeOpenError,
  type Writer,
  type WriterReply,
  type WriterRequest,
} from "./writer.ts";
import { hotWrites, messageOf, type HotWrites } from "./writes.ts";

export interface WriterMessageDeps {
  reply(message: WriterReply): void;
  /** Ends the thread once a close has settled everything. */
  exit(): void;
  /** The WAL sync an ingest group's ack waits for (fdatasync on Linux). */
  fsync?: Fsync;
  /** Opens the connection that commits. */
  connect?(path: string): Database;
}

/** Returns the handler of the writer's messages; requests are carried out in the order they arrive. */
export function writerMessages(deps: WriterMessageDeps): (m: WriterRequest) => void {
  const { reply, exit, fsync = fdatasync, connect = (path) => new Database(path, { strict: true }) } = deps;
  let sqlite: Database | null = null;
  let writes: HotWrites | null = null;
  let wal: WalSync | null = null;

  return (m) => {
    if (m.op === "open") {
      const state = new Int32Array(m.opened, 0, 1);
      try {
        sqlite = connect(m.path);
        sqlite.exec(`PRAGMA busy_timeout = ${m.busyTimeoutMs}`);
        // The opener already put the file in WAL mode and holds it open, so the WAL file is there, and it stays the
        // same file while any connection is open (SQLite removes it only when the last one closes).
        wal = openWalSync(m.path, fsync);
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
        // Finalizes the statements drizzle prepared (retention) too: SQLite checkpoints and removes the WAL only then.
        sqlite?.close(true);
        const done = new Int32Array(m.done);
        Atomics.store(done, 0, 1);
        Atomics.notify(done, 0);
        exit();
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
}

/**
 * The writer's message handling run on the caller's thread, behind the same Writer interface: what a test uses to
 * hold or fail the WAL sync an ack waits for, or to inspect the connection that commits.
 */
export function writerOnThisThread(
  path: string,
  busyTimeoutMs: number,
  deps: Pick<WriterMessageDeps, "fsync" | "connect"> = {},
): Writer {
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let closed = false;
  const handle = writerMessages({
    ...deps,
    reply: (m) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.value);
    },
    exit: () => {},
  });
  const opened = new SharedArrayBuffer(OPENED_BYTES);
  handle({ op: "open", path, busyTimeoutMs, opened });
  if (Atomics.load(new Int32Array(opened, 0, 1), 0) !== OPENED) throw new Error(readOpenError(opened));
  return {
    call(op, ...args) {
      if (closed) return Promise.reject(new Error("the store is closed"));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        handle({ op, id, args });
      });
    },
    failure: () => null,
    close() {
      if (closed) return;
      closed = true;
      handle({ op: "close", done: new SharedArrayBuffer(4) });
    },
  };
}
