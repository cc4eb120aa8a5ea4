import type { Server } from "bun";

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export type Responder = (req: Received, index: number) => Response | Promise<Response>;

/** A real HTTP receiver on 127.0.0.1 that records every request and answers with `respond`. */
export function startReceiver(respond: Responder = () => new Response("ok")) {
  const received: Received[] = [];
  let responder = respond;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const headers: Record<string, string> = {};
      request.headers.forEach((v, k) => (headers[k] = v));
      const entry: Received = { path: new URL(request.url).pathname, headers, body: await request.text(), at: Date.now() };
      received.push(entry);
      for (const w of [...waiters]) {
        if (received.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      return responder(entry, received.length - 1);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    received,
    respondWith(r: Responder) {
      responder = r;
    },
    /** Resolves once `n` requests have arrived (or rejects after `timeoutMs`). */
    waitFor(n: number, timeoutMs = 10_000): Promise<void> {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${n} requests arrived`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    stop() {
      server.stop(true);
    },
  };
}

export type Receiver = ReturnType<typeof startReceiver>;
