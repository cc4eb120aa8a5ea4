import type { Database } from "bun:sqlite";
import { hotWrites, type HotWrites } from "./writes.ts";

type Op = keyof HotWrites;

export type WriterRequest =
  | { op: "open"; path: string; busyTimeoutMs: number; opened: SharedArrayBuffer }
  | { op: "close"; done: SharedArrayBuffer }
  | { op: Op; id: number; args: unknown[] };

export type WriterReply = { id: number; value?: unknown; error?: string };

/** The hot-path writes (writes.ts), asynchronous: on the writer thread, or inline for an in-memory database. */
export interface Writer {
  call<K extends Op>(op: K, ...args: Parameters<HotWrites[K]>): Promise<ReturnType<HotWrites[K]>>;
  /** Why the writer can no longer write, or null while it can. */
  failure(): string | null;
  /** Blocks (bounded) until every request sent so far is answered and the writer's connection is closed. */
  close(): void;
}

/**
 * Where the thread's code is: beside this file when run from source; in the single binary, bundled as its own
 * entry point (package.json "build" lists it) under the embedded root, at its path relative to src/.
 */
function writerThreadEntry(): string {
  const here = new URL("./writer-thread.ts", import.meta.url);
  return here.pathname.startsWith("/$bunfs/") ? "/$bunfs/root/store/writer-thread.js" : here.href;
}

/** Starts the writer thread on a database file that is already created and migrated. */
export function startWriterThread(path: string, busyTimeoutMs: number): Writer {
  const thread = new Worker(writerThreadEntry());
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: string | null = null;
  let closed = false;

  const fail = (why: string) => {
    failure ??= why;
    for (const p of pending.values()) p.reject(new Error(failure));
    pending.clear();
  };
  thread.onmessage = (e: MessageEvent<WriterReply>) => {
    const m = e.data;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.value);
  };
  thread.addEventListener("error", (e) => fail(`the database writer thread failed: ${(e as ErrorEvent).message}`));
  thread.addEventListener("close", () => {
    if (!closed) fail("the database writer thread exited");
  });
  // Start-up waits for the thread's connection, so a writer that cannot open fails the start, not the first request.
  const opened = new SharedArrayBuffer(OPENED_BYTES);
  thread.postMessage({ op: "open", path, busyTimeoutMs, opened } satisfies WriterRequest);
  const state = new Int32Array(opened, 0, 1);
  if (Atomics.wait(state, 0, 0, 10_000) === "timed-out") {
    thread.terminate();
    throw new Error("the database writer thread did not start within 10 s");
  }
  if (Atomics.load(state, 0) !== OPENED) {
    thread.terminate();
    throw new Error(readOpenError(opened));
  }

  return {
    call(op, ...args) {
      if (failure) return Promise.reject(new Error(failure));
      if (closed) return Promise.reject(new Error("the store is closed"));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        thread.postMessage({ op, id, args } satisfies WriterRequest);
      });
    },
    failure: () => failure,
    close() {
      if (closed) return;
      closed = true;
      if (failure) return;
      const done = new SharedArrayBuffer(4);
      thread.postMessage({ op: "close", done } satisfies WriterRequest);
      // The thread answers everything queued before the close; those answers still arrive after this returns.
      Atomics.wait(new Int32Array(done), 0, 0, 30_000);
    },
  };
}

/** The open handshake: an Int32 state (0 waiting, 1 open, 2 failed), then a failure's message as UTF-8. */
export const OPENED = 1;
export const OPEN_FAILED = 2;
export const OPENED_BYTES = 4 + 1024;

export function writeOpenError(opened: SharedArrayBuffer, message: string): void {
  const bytes = new TextEncoder().encode(message).slice(0, OPENED_BYTES - 8);
  new Uint32Array(opened, 4, 1)[0] = bytes.length;
  new Uint8Array(opened, 8, bytes.length).set(bytes);
}

export function readOpenError(opened: SharedArrayBuffer): string {
  const length = new Uint32Array(opened, 4, 1)[0];
  return new TextDecoder().decode(new Uint8Array(opened, 8, length).slice());
}

/** The same writes on the caller's own connection (an in-memory database cannot be shared with a thread). */
export function inlineWriter(sqlite: Database): Writer {
  const writes = hotWrites(sqlite, "in-commit");
  return {
    call(op, ...args) {
      try {
        return Promise.resolve((writes[op] as (...a: unknown[]) => any)(...args));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    failure: () => null,
    close() {},
  };
}
