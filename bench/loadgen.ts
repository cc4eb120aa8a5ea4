// Bun-based HTTP load generator, run as its own process: `bun bench/loadgen.ts '<json options>'`.
// It prints one JSON line with the result. Every loop is bounded by a request count and/or a deadline.
//
// closed: `connections` loops, each sends the next POST when the previous one answered (like wrk),
//         until `durationS` passed or `count` requests were sent.
// open:   `rate` requests per second on a fixed schedule, whatever the answers take (no coordinated
//         omission); each body gets "seq" and "sentAt" (wall-clock ms) for the receiver's end-to-end latency.
import { Samples, sleep, wallMs } from "./lib/stats.ts";

export interface ClosedOptions {
  mode: "closed";
  url: string;
  body: string;
  connections: number;
  durationS?: number;
  count?: number;
  /** Hard stop whatever happens (default durationS + 60, or 600 with a count). */
  maxSeconds?: number;
}

export interface OpenOptions {
  mode: "open";
  url: string;
  /** A JSON object; "seq" and "sentAt" are added in front of its fields. */
  body: string;
  rate: number;
  durationS: number;
}

export interface LoadResult {
  mode: "closed" | "open";
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  rps: number;
  latency: { n: number; p50: number; p90: number; p99: number; max: number };
  /** open mode: largest delay between a request's slot and its actual send (the sender falling behind). */
  maxLagMs?: number;
  firstError?: string;
}

const HEADERS = { "content-type": "application/json" };

export async function closedLoop(o: ClosedOptions): Promise<LoadResult> {
  if (o.durationS === undefined && o.count === undefined) throw new Error("closed loop needs durationS or count");
  const maxSeconds = o.maxSeconds ?? (o.durationS !== undefined ? o.durationS + 60 : 600);
  const t0 = performance.now();
  const stopAt = t0 + Math.min(o.durationS ?? Infinity, maxSeconds) * 1000;
  const lat = new Samples();
  let issued = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let firstError: string | undefined;
  const loop = async () => {
    for (;;) {
      if (o.count !== undefined && issued >= o.count) return;
      if (performance.now() >= stopAt) return;
      issued++;
      const s = performance.now();
      try {
        const res = await fetch(o.url, { method: "POST", headers: HEADERS, body: o.body });
        await res.arrayBuffer();
        lat.push(performance.now() - s);
        if (res.status >= 200 && res.status < 300) ok++;
        else {
          non2xx++;
          firstError ??= `HTTP ${res.status}`;
        }
      } catch (error) {
        errors++;
        firstError ??= String(error);
        await sleep(10); // a refused connection must not spin
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, loop));
  const seconds = (performance.now() - t0) / 1000;
  return { mode: "closed", requests: issued, ok, non2xx, errors, seconds, rps: ok / seconds, latency: lat.summary(), firstError };
}

export async function openLoop(o: OpenOptions): Promise<LoadResult> {
  const total = Math.max(1, Math.round(o.rate * o.durationS));
  const interval = 1000 / o.rate;
  const rest = o.body.trim().slice(1); // fields after the opening brace
  const lat = new Samples();
  const inflight = new Set<Promise<void>>();
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let maxLagMs = 0;
  let firstError: string | undefined;
  const send = (seq: number, slot: number) => {
    const start = performance.now();
    maxLagMs = Math.max(maxLagMs, start - slot);
    const body = `{"seq":${seq},"sentAt":${wallMs()},${rest}`;
    const p = fetch(o.url, { method: "POST", headers: HEADERS, body })
      .then(async (res) => {
        await res.arrayBuffer();
        lat.push(performance.now() - start);
        if (res.status >= 200 && res.status < 300) ok++;
        else {
          non2xx++;
          firstError ??= `HTTP ${res.status}`;
        }
      })
      .catch((error) => {
        errors++;
        firstError ??= String(error);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  const t0 = performance.now();
  const hardStop = t0 + (o.durationS + 30) * 1000;
  let next = 0;
  while (next < total && performance.now() < hardStop) {
    const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
    while (next < due) {
      send(next, t0 + next * interval);
      next++;
    }
    await sleep(1);
  }
  const drainUntil = performance.now() + 30_000;
  while (inflight.size > 0 && performance.now() < drainUntil) await sleep(5);
  const seconds = (performance.now() - t0) / 1000;
  return { mode: "open", requests: next, ok, non2xx, errors, seconds, rps: ok / seconds, latency: lat.summary(), maxLagMs, firstError };
}

if (import.meta.main) {
  const options = JSON.parse(process.argv[2] ?? "{}") as ClosedOptions | OpenOptions;
  const result = options.mode === "open" ? await openLoop(options) : await closedLoop(options);
  console.log(JSON.stringify(result));
  process.exit(0);
}
