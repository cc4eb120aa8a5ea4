// Alternated drain of the same pre-filled backlog by two checkouts; prints deliveries/s per round.
// `bun bench/drain-ab.ts <rootA> <rootB> [rounds] [count]`
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, killAll, startHelper, stop, threadCpuSeconds, track } from "./lib/proc.ts";
import { summarizeProfile } from "./lib/profile.ts";
import { sleep } from "./lib/stats.ts";

// DRAIN_PROFILE=1: each drain under --cpu-prof; prints main-thread µs per delivery of the top functions (self).
const PROFILE = process.env.DRAIN_PROFILE === "1";

const roots = process.argv.slice(2).filter((a) => !/^\d+$/.test(a));
const [rounds = 4, count = 50_000] = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const ORDER = JSON.stringify({ type: "order.created", order: { orderNumber: "A-10023", total: 129.5, customer: { firstName: "Ada", email: "ada@example.com" } } });
const tmp = mkdtempSync(join(tmpdir(), "drain-ab-"));
const rcv = await startHelper("receiver.ts", ["ack"]);
const ctl = (p: string) => fetch(`${rcv.url}/_ctl/${p}`, { method: p === "stats" ? "GET" : "POST" });

async function prefill(root: string, dir: string) {
  mkdirSync(join(dir, "data"), { recursive: true });
  const p = track(Bun.spawn([BUN, join(import.meta.dir, "prefill.ts"), JSON.stringify({ root, db: join(dir, "data", "relay.db"), count, source: "bench", route: "all", destination: "sink", body: ORDER })], { stdout: "pipe", stderr: "inherit" }));
  await p.exited;
}
const masters = roots.map((_, i) => join(tmp, `m${i}`));
for (let i = 0; i < roots.length; i++) await prefill(roots[i]!, masters[i]!);

async function drain(root: string, master: string): Promise<number> {
  const dir = join(tmp, "run");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "data"), { recursive: true });
  for (const f of readdirSync(join(master, "data"))) copyFileSync(join(master, "data", f), join(dir, "data", f));
  writeFileSync(join(dir, "relay.yaml"), `server: { host: 127.0.0.1 }\nstorage: { path: ./data/relay.db }\nsources: { bench: { id: bench-source } }\ndestinations:\n  sink: { url: "${rcv.url}/hook", concurrency: 10, timeout: 10s, ack: { body: '{"status":"success"}' } }\nroutes: [ { name: all, from: bench, to: sink } ]\n`);
  await ctl("reset");
  const profDir = join(dir, "prof");
  mkdirSync(profDir);
  const flags = PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
  const proc = track(Bun.spawn([BUN, ...flags, join(root, "src", "main.ts"), "serve", "--config", join(dir, "relay.yaml"), "--port", "0"], { cwd: dir, stdout: "ignore", stderr: "inherit" }));
  let s: any;
  for (;;) {
    await sleep(250);
    s = await (await ctl("stats")).json();
    if (s.unique >= count) break;
  }
  const threads = threadCpuSeconds(proc.pid);
  await stop(proc, PROFILE ? "SIGTERM" : "SIGKILL", 20_000);
  if (PROFILE) {
    const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
    if (file) {
      const summary = summarizeProfile(join(profDir, file), 40);
      for (const row of summary.self) console.log(`  self ${((row.ms * 1000) / s.unique).toFixed(2).padStart(7)} µs  ${row.name}`);
    }
  }
  const perDelivery = Object.fromEntries(Object.entries(threads).filter(([, v]) => v > 0.05).map(([k, v]) => [k, Math.round((v / s.unique) * 1e6)]));
  console.log("  µs CPU per delivery by thread", JSON.stringify(perDelivery));
  return Math.round(s.unique / ((s.lastAt - s.firstAt) / 1000));
}
const out: number[][] = roots.map(() => []);
for (let r = 0; r < rounds; r++) {
  const order = roots.map((_, i) => i);
  if (r % 2) order.reverse();
  for (const k of order) {
    out[k]!.push(await drain(roots[k]!, masters[k]!));
    console.log(roots[k], out[k]!.at(-1));
  }
}
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
for (let k = 0; k < roots.length; k++) console.log(roots[k], JSON.stringify(out[k]), "mean", mean(out[k]!));
await stop(rcv.proc);
killAll();
rmSync(tmp, { recursive: true, force: true });
