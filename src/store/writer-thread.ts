// Entry of the database writer thread: owns the connection that makes the hot-path writes, so SQLite's work and
// its fsyncs run beside the HTTP thread instead of on it. What it does with each message is writer-messages.ts.
import { writerMessages } from "./writer-messages.ts";
import type { WriterReply, WriterRequest } from "./writer.ts";

declare const self: Worker;

const handle = writerMessages({
  reply: (message: WriterReply) => self.postMessage(message),
  exit: () => process.exit(0),
});

self.onmessage = (e: MessageEvent<WriterRequest>) => handle(e.data);
