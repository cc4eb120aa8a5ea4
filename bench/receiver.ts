// Bench receiver: a separate process on 127.0.0.1 that answers every delivery with {"status":"success"},
// counts arrivals and, when the delivered body carries "sentAt" (wall-clock ms), records arrival − sentAt.
//
// Control (same port): POST /_ctl/mode?m=ack|hold, POST /_ctl/reset, GET /_ctl/stats.
// In hold mode a delivery is left unanswered (at most HOLD_MAX_MS), which keeps the relay's
// destination busy: with concurrency 1 nothing else leaves the outbox, so a backlog builds up.
import { Samples, wallMs } from "./lib/stats.ts";

const HOLD_MAX_MS = 10 * 60_000;
const ACK = '{"status":"success"}';

let mode: "ack" | "hold" = (process.argv[2] as "ack" | "hold") === "hold" ? "hold" : "ack";
let count = 0;
let firstAt = 0;
let lastAt = 0;
const ids = new Set<string>();
const latencies = new Samples(2_000_000);
const held = new Set<() => void>();

function releaseHeld(): void {
  for (const release of held) release();
  held.clear();
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/_ctl/")) return control(url);
    const body = await request.text();
    if (mode === "hold") {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, HOLD_MAX_MS);
        function done() {
          clearTimeout(timer);
          held.delete(done);
          resolve();
        }
        held.add(done);
      });
      return new Response('{"status":"held"}', { status: 503 });
    }
    const at = wallMs();
    count++;
    if (firstAt === 0) firstAt = at;
    lastAt = at;
    const id = request.headers.get("x-relay-delivery-id");
    if (id) ids.add(id);
    const i = body.indexOf('"sentAt":');
    if (i >= 0) {
      const sentAt = parseFloat(body.slice(i + 9, i + 40));
      if (Number.isFinite(sentAt)) latencies.push(at - sentAt);
    }
    return new Response(ACK, { headers: { "content-type": "application/json" } });
  },
});

function control(url: URL): Response {
  switch (url.pathname) {
    case "/_ctl/mode":
      mode = url.searchParams.get("m") === "hold" ? "hold" : "ack";
      if (mode === "ack") releaseHeld();
      return Response.json({ mode });
    case "/_ctl/reset":
      count = 0;
      firstAt = 0;
      lastAt = 0;
      ids.clear();
      latencies.clear();
      return Response.json({ ok: true });
    case "/_ctl/stats":
      return Response.json({ mode, count, unique: ids.size, firstAt, lastAt, held: held.size, latency: latencies.summary() });
    default:
      return new Response("not found", { status: 404 });
  }
}

console.log(JSON.stringify({ url: `http://127.0.0.1:${server.port}` }));

const stop = () => {
  releaseHeld();
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
