import { closeSync, fdatasync, fsyncSync, openSync } from "node:fs";

export type Fsync = (fd: number, done: (error: Error | null) => void) => void;

/**
 * Makes committed WAL frames durable without holding up the next commit.
 *
 * Ingest commits run with synchronous=NORMAL (no sync inside the commit); their acks wait for an fdatasync of the
 * WAL file that started after the commit — the call SQLite itself makes for a FULL commit on Linux, since the data
 * and the file size (all a reader needs) are flushed. The fsync runs on the runtime's I/O threads, so the writer goes on with
 * the next commit group meanwhile; groups committed while a sync is in flight share the next one.
 */
export interface WalSync {
  /** Resolves once everything committed before this call is on stable storage. */
  sync(): Promise<void>;
  /** Syncs at once, settles every waiter, and closes the file once no sync is in flight. */
  close(): void;
}

/** The WAL of a database in WAL mode, or null when it has no WAL file (an in-memory database). */
export function openWalSync(databasePath: string, fsync: Fsync = fdatasync): WalSync | null {
  let fd: number;
  try {
    // Read-only is enough: fsync flushes the file's pages whichever descriptor asks.
    fd = openSync(`${databasePath}-wal`, "r");
  } catch {
    return null;
  }
  type Waiter = { resolve: () => void; reject: (error: unknown) => void };
  let waiting: Waiter[] = [];
  let inFlight: Waiter[] | null = null;
  let closed = false;

  const start = () => {
    const batch = waiting;
    waiting = [];
    inFlight = batch;
    fsync(fd, (error) => {
      inFlight = null;
      for (const w of batch) error ? w.reject(error) : w.resolve();
      if (closed) closeSync(fd);
      else if (waiting.length > 0) start();
    });
  };

  return {
    sync() {
      if (closed) return Promise.reject(new Error("the WAL file is closed"));
      return new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        if (!inFlight) start();
      });
    },
    close() {
      if (closed) return;
      closed = true;
      fsyncSync(fd);
      for (const w of [...(inFlight ?? []), ...waiting]) w.resolve();
      waiting = [];
      if (!inFlight) closeSync(fd);
    },
  };
}
