// `bun run bench`: measures the real `relay serve` on this machine and prints ONE table (also bench/results.md).
//
//   1 raw ceiling   a bare Bun.serve answering 200, same load, same run
//   2 ingest        events/s acknowledged, each after its commit reached the disk, p50/p99 at 64 connections, ratio to the ceiling
//   3 end to end    send → receiver latency at 1,000 events/s (open loop; the receiver subtracts "sentAt")
//   4 delivery      deliveries/s draining a backlog of 100,000 (pre-filled over HTTP while the destination is held)
//   5 memory        VmRSS idle, under load, with a 1,000,000-event backlog
//   6 recovery      start → healthy and → first delivery with 1,000,000 pending; single binary size and cold start
// plus a CPU profile (bun --cpu-prof) of the relay under the ingest and the delivery load, and fsync probes of
// the disk. Phases run in the order raw, ingest, delivery, end to end, profiles, cold start, recovery: the big
// pre-fill writes about 1 GB, which can slow a throttled virtual disk for whatever comes after it.
//
// Everything listens on 127.0.0.1 only; every load loop is bounded in count and time; children are ended by pid.
// Environment (defaults in brackets): BENCH_BACKLOG [1000000], BENCH_DELIVERY_BACKLOG [100000], BENCH_DURATION [15 s],
// BENCH_CONNECTIONS [64], BENCH_E2E_RATE [1000], BENCH_DELIVERY_CONCURRENCY [10, the destination default],
// BENCH_RECOVERY_SECONDS [10], BENCH_DRAIN_TIMEOUT [300 s], BENCH_PROFILE [1: also profile ingest and delivery],
// BENCH_PROFILE_SECONDS [8], BENCH_LOADGEN [wrk; "bun" forces bench/loadgen.ts], BENCH_WRK_THREADS [2],
// BENCH_BINARY [dist/relay], BENCH_RELAY_ROOT [this checkout], BENCH_RELAY_LABEL, BENCH_TMPDIR [os tmpdir],
// BENCH_RESULTS [bench/results.md, or bench/results.local.md when sizes/durations are below the defaults; "-" for
// stdout only], BENCH_KEEP [0: remove the temp directory], BENCH_MAX_MINUTES [25],
// BENCH_QUIET_WAIT [300 s: how long to wait for other processes to leave the CPU before starting],
// BENCH_NICE [unset: a nice value for the bench and all it starts, e.g. -10 as root on a machine others share],
// BENCH_POSTGRES_URL [$RELAY_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/test; the PostgreSQL phase is
// skipped with a line saying so when it does not answer], BENCH_POSTGRES_DURATION [10 s], BENCH_POSTGRES_INSTANCES ["1,3"],
// BENCH_ONLY [unset; "hot": only the ingest and delivery phases, printed, nothing written — for comparing two trees].
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { getPriority, setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { closedLoad, ensureWrk, loadgen, type LoadResult } from "./lib/load.ts";
import { describeMachine, fsyncProbe, type Machine } from "./lib/machine.ts";
import { measurePostgres, postgresReachable, postgresTable, type PgRow } from "./lib/postgres.ts";
import {
  BUN,
  cpuMeter,
  ioCounters,
  killAll,
  memoryMb,
  REPO,
  rssSampler,
  startHelper,
  startRelay,
  stop,
  track,
  waitHealthy,
  type RelayHandle,
} from "./lib/proc.ts";
import { summarizeProfile, type ProfileSummary } from "./lib/profile.ts";
import { median, sleep, wallMs } from "./lib/stats.ts";

// ───────────────────────────── settings ─────────────────────────────

const num = (key: string, fallback: number) => {
  const v = Number(process.env[key]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const S = {
  backlog: Math.round(num("BENCH_BACKLOG", 1_000_000)),
  deliveryBacklog: Math.round(num("BENCH_DELIVERY_BACKLOG", 100_000)),
  duration: num("BENCH_DURATION", 15),
  connections: Math.round(num("BENCH_CONNECTIONS", 64)),
  e2eRate: num("BENCH_E2E_RATE", 1000),
  concurrency: Math.round(num("BENCH_DELIVERY_CONCURRENCY", 10)),
  recoverySeconds: num("BENCH_RECOVERY_SECONDS", 10),
  drainTimeout: num("BENCH_DRAIN_TIMEOUT", 300),
  profile: process.env.BENCH_PROFILE !== "0",
  profileSeconds: num("BENCH_PROFILE_SECONDS", 8),
  wrkThreads: Math.round(num("BENCH_WRK_THREADS", 2)),
  warmup: 3,
  maxMinutes: num("BENCH_MAX_MINUTES", 25),
  quietWait: num("BENCH_QUIET_WAIT", 300),
};
const BINARY = process.env.BENCH_BINARY || join(REPO, "dist", "relay");
/** A run with the issue's sizes and durations writes bench/results.md; a shorter one writes results.local.md (not committed). */
const FULL_RUN = S.backlog === 1_000_000 && S.deliveryBacklog === 100_000 && S.duration >= 15 && S.connections === 64 && S.e2eRate === 1000;
const RESULTS = process.env.BENCH_RESULTS || join(import.meta.dir, FULL_RUN ? "results.md" : "results.local.md");

const TARGET = {
  ingestRatio: 0.5,
  ingestRps: 20_000,
  ingestP99: 10,
  e2eP50: 5,
  e2eP99: 25,
  deliveryRps: 10_000,
  rssIdle: 60,
  rssBacklog: 200,
  healthyMs: 1000,
  firstDeliveryMs: 2000,
};

/** A typical webhook: a shop order of about 400 bytes. */
const ORDER = JSON.stringify({
  type: "order.created",
  order: {
    orderNumber: "A-10023",
    createdAt: "2026-01-15T09:30:00Z",
    total: 129.5,
    currency: "EUR",
    customer: { firstName: "Ada", lastName: "Lovelace", email: "ada@example.com", phone: "+49 30 1234567" },
    shipping: { street: "Unter den Linden 1", city: "Berlin", zip: "10117", country: "DE" },
    items: [
      { sku: "SKU-1", name: "Notebook", qty: 2, price: 39.75 },
      { sku: "SKU-2", name: "Pen set", qty: 1, price: 50 },
    ],
  },
});

// ───────────────────────────── plumbing ─────────────────────────────

const say = (s = "") => {
  console.log(s);
};

// Children inherit the nice value: relay, receiver and load generators keep the same priority among themselves.
if (process.env.BENCH_NICE) setPriority(Number(process.env.BENCH_NICE));
const NICE = getPriority();

const tmpRoot = mkdtempSync(join(process.env.BENCH_TMPDIR || tmpdir(), "relay-bench-"));
let receiverUrl = "";

function cleanup(): void {
  killAll();
  if (process.env.BENCH_KEEP !== "1") rmSync(tmpRoot, { recursive: true, force: true });
}
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${S.maxMinutes} minutes, giving up`);
  cleanup();
  process.exit(2);
}, S.maxMinutes * 60_000);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

function relayConfig(dir: string, o: { concurrency: number; timeout: string }): string {
  const path = join(dir, "relay.yaml");
  writeFileSync(
    path,
    `# generated by bench/run.ts
server:
  host: 127.0.0.1
storage:
  path: ./data/relay.db
sources:
  bench:
    id: bench-source
    event_type: body.type
destinations:
  sink:
    url: ${receiverUrl}/hook
    concurrency: ${o.concurrency}
    timeout: ${o.timeout}
    ack:
      body: '{"status":"success"}'
routes:
  - name: all
    from: bench
    to: sink
`,
  );
  return path;
}

function phaseDir(name: string): string {
  const dir = join(tmpRoot, name);
  mkdirSync(join(dir, "data"), { recursive: true });
  return dir;
}

async function relayIn(dir: string, o: { concurrency: number; timeout: string; bunFlags?: string[] }): Promise<RelayHandle> {
  const configPath = relayConfig(dir, o);
  return startRelay({ configPath, cwd: dir, logPath: join(dir, "relay.log"), bunFlags: o.bunFlags });
}

const ingestUrl = (relay: RelayHandle) => `${relay.url}/api/webhook/bench-source`;

interface ReceiverStats {
  mode: string;
  count: number;
  unique: number;
  firstAt: number;
  lastAt: number;
  held: number;
  latency: { n: number; p50: number; p90: number; p99: number; max: number };
}
async function receiver(path: "mode?m=ack" | "mode?m=hold" | "reset"): Promise<void> {
  await fetch(`${receiverUrl}/_ctl/${path}`, { method: "POST" });
}
async function receiverStats(): Promise<ReceiverStats> {
  return (await (await fetch(`${receiverUrl}/_ctl/stats`)).json()) as ReceiverStats;
}

function deliveryCounts(dbPath: string): Record<string, number> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM deliveries GROUP BY status").all();
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  } finally {
    db.close();
  }
}

function copyData(fromDir: string, toDir: string): void {
  for (const f of readdirSync(join(fromDir, "data"))) copyFileSync(join(fromDir, "data", f), join(toDir, "data", f));
}

async function prefill(dir: string, count: number): Promise<number> {
  const proc = track(
    Bun.spawn(
      [
        BUN,
        join(import.meta.dir, "prefill.ts"),
        JSON.stringify({ root: REPO, db: join(dir, "data", "relay.db"), count, source: "bench", route: "all", destination: "sink", body: ORDER }),
      ],
      { stdin: "ignore", stdout: "pipe", stderr: "inherit" },
    ),
  );
  const timer = setTimeout(() => proc.kill("SIGKILL"), 600_000);
  const text = await new Response(proc.stdout).text();
  const code = await proc.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`prefill failed (exit ${code})`);
  return JSON.parse(text.trim().split("\n").pop()!).seconds;
}

/** A CPU profile of the relay while `load` runs: started with --cpu-prof, stopped with SIGTERM so it writes the file. */
async function profiled(
  name: string,
  prepare: (dir: string) => void,
  o: { concurrency: number; timeout: string },
  load: (relay: RelayHandle) => Promise<void>,
  beforeStop: () => Promise<void> = async () => {},
): Promise<(ProfileSummary & { cpu: ReturnType<ReturnType<typeof cpuMeter>["stop"]> }) | null> {
  const dir = phaseDir(name);
  prepare(dir);
  const profDir = join(dir, "prof");
  mkdirSync(profDir);
  const relay = await relayIn(dir, { ...o, bunFlags: ["--cpu-prof", `--cpu-prof-dir=${profDir}`] });
  await waitHealthy(relay.url);
  const meter = cpuMeter(relay.pid);
  await load(relay);
  const cpu = meter.stop();
  await beforeStop();
  await stop(relay.proc, "SIGTERM", 20_000);
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) {
    say(`  (no profile written for ${name})`);
    return null;
  }
  return { ...summarizeProfile(join(profDir, file)), cpu };
}

/** Other processes share this machine (tests, builds): wait until they leave the CPU, bounded by BENCH_QUIET_WAIT. */
async function waitForQuiet(): Promise<{ cores: number; waitedS: number }> {
  const t0 = Date.now();
  for (let announced = false; ; ) {
    const meter = cpuMeter();
    await sleep(3000);
    const others = meter.stop().othersCores;
    const waitedS = (Date.now() - t0) / 1000;
    if (others <= 0.25 || waitedS >= S.quietWait) {
      if (others > 0.25) say(`  the machine is still busy (${cores(others)} used by other processes): measuring anyway`);
      return { cores: others, waitedS };
    }
    if (!announced) say(`  other processes use ${cores(others)}: waiting up to ${S.quietWait} s for the machine to go quiet`);
    announced = true;
  }
}

// ───────────────────────────── phases ─────────────────────────────

type Cpu = ReturnType<ReturnType<typeof cpuMeter>["stop"]>;

interface Results {
  settings: typeof S;
  nice: number;
  bodyBytes: number;
  machine: Machine;
  /** Cores busy with other processes just before the run, and how long the bench waited for quiet. */
  background: { cores: number; waitedS: number };
  tool: string;
  raw: LoadResult & { tool: string };
  ingest: LoadResult & { tool: string; cpu: Cpu; writeCallsPerEvent: number; writeKbPerEvent: number };
  /** write + fsync of a 4 KB append on the disk under the temp dir: at the start, before the 1M pre-fill, at the end. */
  fsync: Array<{ when: string; p50: number; p99: number }>;
  rss: {
    idle: number;
    idleAnon: number;
    idleFile: number;
    loadMax: number;
    loadAnonMax: number;
    drainMax: number;
    drainAnonMax: number;
    backlogMax: number;
    backlogAfterHealthy: number;
    backlogAnonMax: number;
  };
  httpPrefill: LoadResult & { cpu: Cpu };
  delivery: {
    backlog: number;
    delivered: number;
    complete: boolean;
    rate: number;
    firstAfterSpawnMs: number;
    allDeliveredAfterSpawnS: number;
    cpu: Cpu;
    duplicates: number;
  };
  e2e: { sender: LoadResult; arrived: number; latency: ReceiverStats["latency"]; cpu: Cpu };
  recovery: {
    backlog: number;
    prefillSeconds: number;
    startedMs: number;
    healthyMs: number;
    firstDeliveryMs: number;
    rate: number;
    windowS: number;
  };
  cold: { sourceMs: number; binary: { sizeMb: number; ms: number; idleRss: number; idleAnon: number; idleFile: number } | null };
  profiles: { ingest: (ProfileSummary & { cpu: Cpu }) | null; delivery: (ProfileSummary & { cpu: Cpu; delivered: number }) | null };
  /** The PostgreSQL backend with 1 and 3 instances (null: PostgreSQL did not answer). */
  postgres: { url: string; durationS: number; rows: PgRow[] } | null;
  runSeconds: number;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const r = { settings: S, nice: NICE, bodyBytes: ORDER.length } as Results;
  r.machine = describeMachine(tmpRoot, REPO);
  say(`relay bench — ${r.machine.nproc} cores, ${r.machine.cpuModel}, Bun ${r.machine.bun}, measuring ${r.machine.relay}`);
  say(`settings: ${JSON.stringify(S)}`);

  r.background = await waitForQuiet();
  r.fsync = [{ when: "at the start", ...fsyncProbe(tmpRoot) }];
  say(`fsync of a 4 KB append: p50 ${ms(r.fsync[0].p50)}, p99 ${ms(r.fsync[0].p99)}`);
  const wrk = await ensureWrk(say);
  const rcv = await startHelper("receiver.ts");
  receiverUrl = rcv.url;

  // 1. raw ceiling
  const hotOnly = process.env.BENCH_ONLY === "hot";
  if (hotOnly) r.raw = { rps: NaN } as Results["raw"];
  else say("\n[1/7] raw ceiling: bare Bun.serve");
  if (!hotOnly) {
    const raw = await startHelper("raw-server.ts");
    const load = { url: `${raw.url}/api/webhook/bench-source`, body: ORDER, connections: S.connections, threads: S.wrkThreads, workDir: tmpRoot };
    await closedLoad(wrk, { ...load, durationS: S.warmup });
    r.raw = await closedLoad(wrk, { ...load, durationS: S.duration });
    r.tool = r.raw.tool;
    await stop(raw.proc);
    say(`  ${fmtInt(r.raw.rps)} req/s, p50 ${ms(r.raw.latency.p50)}, p99 ${ms(r.raw.latency.p99)} (${r.raw.tool})`);
  }

  // 2. ingest (+ RSS idle and under load). The receiver holds the one delivery the worker may start
  // (concurrency 1), so the numbers are the ingest path alone, not ingest competing with delivery.
  say("\n[2/7] ingest: POST /api/webhook/:source, every ack after its commit is synced, delivery held");
  r.rss = { idle: NaN, idleAnon: NaN, idleFile: NaN, loadMax: NaN, loadAnonMax: NaN, drainMax: NaN, drainAnonMax: NaN, backlogMax: NaN, backlogAfterHealthy: NaN, backlogAnonMax: NaN };
  {
    await receiver("mode?m=hold");
    const dir = phaseDir("ingest");
    const relay = await relayIn(dir, { concurrency: 1, timeout: "10m" });
    await waitHealthy(relay.url);
    await sleep(2000);
    const idle = memoryMb(relay.pid);
    r.rss.idle = idle.rss;
    r.rss.idleAnon = idle.anon;
    r.rss.idleFile = idle.file;
    const load = { url: ingestUrl(relay), body: ORDER, connections: S.connections, threads: S.wrkThreads, workDir: dir };
    await closedLoad(wrk, { ...load, durationS: S.warmup });
    const sampler = rssSampler(relay.pid);
    const meter = cpuMeter(relay.pid);
    const io0 = ioCounters(relay.pid);
    const res = await closedLoad(wrk, { ...load, durationS: S.duration });
    const io1 = ioCounters(relay.pid);
    const cpu = meter.stop();
    const loadMem = sampler.stop();
    r.rss.loadMax = Math.max(loadMem.max, memoryMb(relay.pid).peak);
    r.rss.loadAnonMax = loadMem.maxAnon;
    r.ingest = { ...res, cpu, writeCallsPerEvent: (io1.calls - io0.calls) / res.ok, writeKbPerEvent: (io1.bytes - io0.bytes) / 1024 / res.ok };
    await stop(relay.proc, "SIGKILL");
    await receiver("mode?m=ack");
    say(`  ${fmtInt(res.rps)} events/s (${pct(res.rps / r.raw.rps)} of raw), p50 ${ms(res.latency.p50)}, p99 ${ms(res.latency.p99)}, non-2xx ${res.non2xx}, errors ${res.errors}`);
    say(`  RSS idle ${mb(r.rss.idle)}, under load max ${mb(r.rss.loadMax)}; CPU: relay ${cores(cpu.relayCores)}, machine ${cores(cpu.machineCores)}`);
    say(`  relay write calls per event ${r.ingest.writeCallsPerEvent.toFixed(1)}, bytes written per event ${r.ingest.writeKbPerEvent.toFixed(1)} KB`);
  }

  // 4. delivery: pre-fill 100,000 over HTTP while the destination is held, kill, restart with the receiver answering.
  say(`\n[3/7] delivery: pre-fill ${fmtInt(S.deliveryBacklog)} events over HTTP (destination held), then drain`);
  const deliveryDir = phaseDir("delivery");
  {
    await receiver("mode?m=hold");
    let relay = await relayIn(deliveryDir, { concurrency: 1, timeout: "10m" });
    await waitHealthy(relay.url);
    const meter = cpuMeter(relay.pid);
    const fill = await loadgen({ mode: "closed", url: ingestUrl(relay), body: ORDER, connections: S.connections, count: S.deliveryBacklog, maxSeconds: 300 });
    r.httpPrefill = { ...fill, cpu: meter.stop() };
    await stop(relay.proc, "SIGKILL");
    await receiver("mode?m=ack");
    const counts = deliveryCounts(join(deliveryDir, "data", "relay.db"));
    const backlog = (counts.pending ?? 0) + (counts.in_flight ?? 0);
    say(`  pre-filled ${fmtInt(backlog)} pending (${fmtInt(fill.rps)} events/s with the Bun client, p99 ${ms(fill.latency.p99)})`);
    if (S.profile) copyData(deliveryDir, phaseDir("delivery-profile-copy"));

    await receiver("reset");
    relay = await relayIn(deliveryDir, { concurrency: S.concurrency, timeout: "10s" });
    const sampler = rssSampler(relay.pid);
    const drainMeter = cpuMeter(relay.pid);
    const db = new Database(join(deliveryDir, "data", "relay.db"), { readonly: true });
    const deliveredQuery = db.query<{ n: number }, []>("SELECT count(*) AS n FROM deliveries WHERE status = 'delivered'");
    const deadline = Date.now() + S.drainTimeout * 1000;
    let delivered = 0;
    let doneAt = NaN;
    let stats = await receiverStats();
    while (Date.now() < deadline) {
      await sleep(250);
      delivered = deliveredQuery.get()!.n;
      if (delivered >= backlog) {
        doneAt = wallMs();
        break;
      }
    }
    stats = await receiverStats();
    db.close();
    const cpu = drainMeter.stop();
    const drainMem = sampler.stop();
    r.rss.drainMax = drainMem.max;
    r.rss.drainAnonMax = drainMem.maxAnon;
    const complete = delivered >= backlog;
    r.delivery = {
      backlog,
      delivered,
      complete,
      rate: stats.unique / Math.max(0.001, (stats.lastAt - stats.firstAt) / 1000),
      firstAfterSpawnMs: stats.firstAt - relay.spawnedAt,
      allDeliveredAfterSpawnS: (doneAt - relay.spawnedAt) / 1000,
      cpu,
      duplicates: stats.count - stats.unique,
    };
    say(
      `  ${complete ? "drained" : "NOT drained"} ${fmtInt(delivered)}/${fmtInt(backlog)} at concurrency ${S.concurrency}: ${fmtInt(r.delivery.rate)} deliveries/s; ` +
        `all delivered ${r.delivery.allDeliveredAfterSpawnS.toFixed(1)} s after spawn; RSS max ${mb(r.rss.drainMax)}; CPU relay ${cores(cpu.relayCores)}, machine ${cores(cpu.machineCores)}`,
    );

    if (hotOnly) {
      await stop(relay.proc, "SIGKILL");
      if (S.profile) {
        await receiver("reset");
        const d = await profiled("delivery-profile", (dir) => copyData(join(tmpRoot, "delivery-profile-copy"), dir), { concurrency: S.concurrency, timeout: "10s" }, () => sleep(S.profileSeconds * 1000));
        for (const row of [...(d?.self ?? []).slice(0, 25), ...(d?.inclusive ?? []).slice(0, 25)]) say(`  ${JSON.stringify(row)}`);
        await receiver("mode?m=hold");
        const i = await profiled("ingest-profile", () => {}, { concurrency: 1, timeout: "10m" }, (relay) =>
          closedLoad(wrk, { url: ingestUrl(relay), body: ORDER, connections: S.connections, threads: S.wrkThreads, workDir: tmpRoot, durationS: S.profileSeconds }).then(() => {}),
          () => receiver("mode?m=ack"));
        for (const row of [...(i?.self ?? []).slice(0, 25), ...(i?.inclusive ?? []).slice(0, 30)]) say(`  ingest ${JSON.stringify(row)}`);
      }
      await stop(rcv.proc);
      return;
    }
    // 3. end to end on the same relay, now idle: open-loop sender, receiver measures arrival − sentAt.
    say(`\n[4/7] end to end at ${fmtInt(S.e2eRate)} events/s (open loop)`);
    await loadgen({ mode: "open", url: ingestUrl(relay), body: ORDER, rate: S.e2eRate, durationS: 2 });
    await sleep(500);
    await receiver("reset");
    const e2eMeter = cpuMeter(relay.pid);
    const sender = await loadgen({ mode: "open", url: ingestUrl(relay), body: ORDER, rate: S.e2eRate, durationS: S.duration });
    const waitUntil = Date.now() + 15_000;
    let arrived = await receiverStats();
    while (arrived.count < sender.ok && Date.now() < waitUntil) {
      await sleep(100);
      arrived = await receiverStats();
    }
    r.e2e = { sender, arrived: arrived.count, latency: arrived.latency, cpu: e2eMeter.stop() };
    await stop(relay.proc, "SIGTERM");
    say(
      `  sent ${fmtInt(sender.ok)} (ack p50 ${ms(sender.latency.p50)}, p99 ${ms(sender.latency.p99)}), arrived ${fmtInt(arrived.count)}: ` +
        `send → receiver p50 ${ms(arrived.latency.p50)}, p99 ${ms(arrived.latency.p99)}, max ${ms(arrived.latency.max)}` +
        (sender.non2xx + sender.errors > 0 ? `; ${sender.non2xx} non-2xx, ${sender.errors} errors, first: ${sender.firstError}` : ""),
    );
  }

  // Profiles: the same loads again, shorter, with `bun --cpu-prof` on the relay.
  r.profiles = { ingest: null, delivery: null };
  if (S.profile) {
    say(`\n[5/7] profiles (${S.profileSeconds} s each, bun --cpu-prof on the relay)`);
    await receiver("mode?m=hold");
    r.profiles.ingest = await profiled(
      "ingest-profile",
      () => {},
      { concurrency: 1, timeout: "10m" },
      async (relay) => {
        const load = { url: ingestUrl(relay), body: ORDER, connections: S.connections, threads: S.wrkThreads, workDir: tmpRoot };
        await closedLoad(wrk, { ...load, durationS: 2 });
        await closedLoad(wrk, { ...load, durationS: S.profileSeconds });
      },
      () => receiver("mode?m=ack"),
    );
    await receiver("reset");
    let delivered = 0;
    const d = await profiled(
      "delivery-profile",
      (dir) => copyData(join(tmpRoot, "delivery-profile-copy"), dir),
      { concurrency: S.concurrency, timeout: "10s" },
      async () => {
        await sleep(S.profileSeconds * 1000);
        delivered = (await receiverStats()).unique;
      },
    );
    r.profiles.delivery = d ? { ...d, delivered } : null;
    for (const [name, p] of Object.entries(r.profiles)) if (p) say(`  ${name}: ${p.categories.slice(0, 3).map((c) => `${c.name} ${pct(c.share)}`).join("; ")}`);
  }

  // 6. cold start (empty store) of `bun src/main.ts` and of the single binary when built.
  say("\n[6/7] cold start (empty store)");
  {
    const coldStart = async (binary?: string) => {
      const times: number[] = [];
      let idle = memoryMb(-1);
      for (let i = 0; i < 3; i++) {
        const dir = phaseDir(`cold-${binary ? "bin" : "src"}-${i}`);
        const relay = await startRelay({ configPath: relayConfig(dir, { concurrency: 1, timeout: "10s" }), cwd: dir, logPath: join(dir, "relay.log"), binary });
        times.push((await waitHealthy(relay.url)) - relay.spawnedAt);
        if (i === 0) {
          await sleep(2000);
          idle = memoryMb(relay.pid);
        }
        await stop(relay.proc, "SIGKILL");
      }
      return { ms: median(times), idle };
    };
    r.cold = { sourceMs: (await coldStart()).ms, binary: null };
    if (existsSync(BINARY)) {
      const b = await coldStart(BINARY);
      r.cold.binary = { sizeMb: statSync(BINARY).size / 1024 / 1024, ms: b.ms, idleRss: b.idle.rss, idleAnon: b.idle.anon, idleFile: b.idle.file };
    }
    say(`  bun src/main.ts: healthy ${ms(r.cold.sourceMs)} after spawn (median of 3)`);
    say(
      r.cold.binary
        ? `  single binary: ${mb(r.cold.binary.sizeMb)}, healthy ${ms(r.cold.binary.ms)} after spawn, idle RSS ${mb(r.cold.binary.idleRss)}`
        : "  single binary: not built (bun run build makes dist/relay)",
    );
  }

  r.fsync.push({ when: "before the large pre-fill", ...fsyncProbe(tmpRoot) });
  // 7. a large backlog written straight into SQLite, then a restart: healthy, first delivery, RSS.
  say(`\n[7/7] recovery: ${fmtInt(S.backlog)} pending, pre-filled directly into SQLite`);
  {
    const dir = phaseDir("recovery");
    // The pre-fill writes the source, route and destination names that relayConfig() uses.
    const prefillSeconds = await prefill(dir, S.backlog);
    say(`  pre-filled in ${prefillSeconds.toFixed(1)} s`);
    await receiver("mode?m=ack");
    await receiver("reset");
    const relay = await relayIn(dir, { concurrency: S.concurrency, timeout: "10s" });
    const sampler = rssSampler(relay.pid, 100);
    const healthyAt = await waitHealthy(relay.url);
    r.rss.backlogAfterHealthy = memoryMb(relay.pid).rss;
    let stats = await receiverStats();
    const firstDeadline = Date.now() + 30_000;
    while (stats.count === 0 && Date.now() < firstDeadline) {
      await sleep(5);
      stats = await receiverStats();
    }
    await sleep(S.recoverySeconds * 1000);
    stats = await receiverStats();
    const end = memoryMb(relay.pid);
    const backlogMem = sampler.stop();
    r.rss.backlogMax = Math.max(backlogMem.max, end.peak);
    r.rss.backlogAnonMax = backlogMem.maxAnon;
    await stop(relay.proc, "SIGTERM");
    r.recovery = {
      backlog: S.backlog,
      prefillSeconds,
      startedMs: relay.startedAt - relay.spawnedAt,
      healthyMs: healthyAt - relay.spawnedAt,
      firstDeliveryMs: stats.firstAt > 0 ? stats.firstAt - relay.spawnedAt : NaN,
      rate: stats.unique / Math.max(0.001, (stats.lastAt - stats.firstAt) / 1000),
      windowS: (stats.lastAt - stats.firstAt) / 1000,
    };
    say(
      `  "relay started" ${ms(r.recovery.startedMs)}, healthy ${ms(r.recovery.healthyMs)}, first delivery ${ms(r.recovery.firstDeliveryMs)} after spawn; ` +
        `RSS after healthy ${mb(r.rss.backlogAfterHealthy)}, max ${mb(r.rss.backlogMax)}; ${fmtInt(r.recovery.rate)} deliveries/s over ${r.recovery.windowS.toFixed(1)} s`,
    );
  }

  // 8. the PostgreSQL backend: 1 and 3 instances of the same relay on one database.
  r.postgres = null;
  {
    const url = process.env.BENCH_POSTGRES_URL || process.env.RELAY_TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test";
    if (await postgresReachable(url)) {
      const durationS = num("BENCH_POSTGRES_DURATION", 10);
      say(`\n[8/8] PostgreSQL: ingest ${durationS} s at ${S.connections} connections, then the drain at concurrency ${S.concurrency} in total`);
      const counts = (process.env.BENCH_POSTGRES_INSTANCES || "1,3").split(",").map(Number).filter((n) => n > 0);
      const rows = await measurePostgres({
        url, counts, durationS, connections: S.connections, concurrency: S.concurrency, drainTimeoutS: 180, pool: 10,
        body: ORDER, wrk, workDir: tmpRoot, log: say,
      });
      r.postgres = { url: url.replace(/\/\/[^@/]*@/, "//"), durationS, rows };
    } else say("\n[8/8] PostgreSQL: skipped, nothing answers at BENCH_POSTGRES_URL (or postgres://postgres@127.0.0.1:5432/test)");
  }

  r.fsync.push({ when: "at the end", ...fsyncProbe(tmpRoot) });
  await stop(rcv.proc);
  r.runSeconds = (performance.now() - t0) / 1000;
  const report = render(r);
  say("\n" + table(r));
  if (r.postgres) say("\n" + postgresTable(r.postgres.rows));
  say(`\nrun took ${(r.runSeconds / 60).toFixed(1)} min`);
  if (RESULTS !== "-") {
    writeFileSync(RESULTS, report);
    writeFileSync(RESULTS.replace(/\.md$/, "") + ".json", JSON.stringify(r, null, 1) + "\n");
    say(`results written to ${RESULTS.startsWith(REPO) ? RESULTS.slice(REPO.length + 1) : RESULTS}`);
  }
}

// ───────────────────────────── report ─────────────────────────────

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? `${n.toFixed(2)} ms` : n < 1000 ? `${n.toFixed(1)} ms` : `${(n / 1000).toFixed(2)} s`) : "n/a");
const mb = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} MB` : "n/a");
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : "n/a");
const cores = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} cores` : "n/a");

function atLeast(value: number, target: number, unit: string): string {
  if (!Number.isFinite(value)) return "✗ not measured";
  if (value >= target) return "✓ met";
  return `✗ missed by ${unit === "%" ? `${((target - value) * 100).toFixed(0)} points` : `${fmtInt(target - value)} ${unit}`} (needs ${(target / value).toFixed(1)}×)`;
}
function atMost(value: number, target: number, show: (n: number) => string): string {
  if (!Number.isFinite(value)) return "✗ not measured";
  if (value <= target) return "✓ met";
  return `✗ over by ${show(value - target)} (${(value / target).toFixed(1)}× the target)`;
}

function table(r: Results): string {
  const rows: string[][] = [];
  const raw = r.raw;
  const ing = r.ingest;
  const ratio = ing.rps / raw.rps;
  rows.push(["1", "Raw ceiling: bare `Bun.serve` → 200", `${fmtInt(raw.rps)} req/s · p50 ${ms(raw.latency.p50)} · p99 ${ms(raw.latency.p99)}`, "reference", "—"]);
  rows.push([
    "2",
    `Ingest, each event synced to disk before its 2xx (${r.settings.connections} connections)`,
    `${fmtInt(ing.rps)} events/s = ${pct(ratio)} of raw`,
    `≥ 50% of raw and ≥ ${fmtInt(TARGET.ingestRps)}/s`,
    ratio >= TARGET.ingestRatio && ing.rps >= TARGET.ingestRps
      ? "✓ met"
      : `${atLeast(ing.rps, Math.max(TARGET.ingestRps, raw.rps * TARGET.ingestRatio), "events/s")}`,
  ]);
  rows.push(["2", `Ingest latency at ${r.settings.connections} connections`, `p50 ${ms(ing.latency.p50)} · p99 ${ms(ing.latency.p99)}`, `p99 ≤ ${TARGET.ingestP99} ms`, atMost(ing.latency.p99, TARGET.ingestP99, ms)]);
  const e = r.e2e.latency;
  rows.push([
    "3",
    `End to end, send → receiver, at ${fmtInt(r.settings.e2eRate)} events/s (open loop)`,
    `p50 ${ms(e.p50)} · p99 ${ms(e.p99)} (${fmtInt(r.e2e.arrived)} of ${fmtInt(r.e2e.sender.ok)} arrived)`,
    `p50 ≤ ${TARGET.e2eP50} ms, p99 ≤ ${TARGET.e2eP99} ms`,
    e.p50 <= TARGET.e2eP50 && e.p99 <= TARGET.e2eP99
      ? "✓ met"
      : [e.p50 > TARGET.e2eP50 ? `p50 ${atMost(e.p50, TARGET.e2eP50, ms)}` : "p50 ✓", e.p99 > TARGET.e2eP99 ? `p99 ${atMost(e.p99, TARGET.e2eP99, ms)}` : "p99 ✓"].join("; "),
  ]);
  const d = r.delivery;
  rows.push([
    "4",
    `Delivery, draining ${fmtInt(d.backlog)} (concurrency ${r.settings.concurrency})`,
    `${fmtInt(d.rate)} deliveries/s${d.complete ? "" : ` (incomplete: ${fmtInt(d.delivered)} in ${r.settings.drainTimeout} s)`}`,
    `≥ ${fmtInt(TARGET.deliveryRps)}/s`,
    atLeast(d.rate, TARGET.deliveryRps, "deliveries/s"),
  ]);
  rows.push([
    "5",
    "RSS idle (fresh start, empty store): `bun src/main.ts`",
    `${mb(r.rss.idle)} (${mb(r.rss.idleAnon)} anonymous + ${mb(r.rss.idleFile)} file-backed)`,
    `≤ ${TARGET.rssIdle} MB`,
    atMost(r.rss.idle, TARGET.rssIdle, mb),
  ]);
  if (r.cold.binary)
    rows.push([
      "5",
      "RSS idle: the single binary",
      `${mb(r.cold.binary.idleRss)} (${mb(r.cold.binary.idleAnon)} anonymous + ${mb(r.cold.binary.idleFile)} file-backed)`,
      `≤ ${TARGET.rssIdle} MB`,
      atMost(r.cold.binary.idleRss, TARGET.rssIdle, mb),
    ]);
  rows.push([
    "5",
    "RSS under load: max during ingest / during the drain",
    `${mb(r.rss.loadMax)} / ${mb(r.rss.drainMax)} (anonymous ${mb(r.rss.loadAnonMax)} / ${mb(r.rss.drainAnonMax)})`,
    "—",
    "—",
  ]);
  rows.push([
    "5",
    `RSS with a ${fmtInt(r.recovery.backlog)}-event backlog (max while delivering)`,
    `${mb(r.rss.backlogMax)} (anonymous ${mb(r.rss.backlogAnonMax)})`,
    `≤ ${TARGET.rssBacklog} MB`,
    atMost(r.rss.backlogMax, TARGET.rssBacklog, mb),
  ]);
  rows.push(["6", `Start → healthy, ${fmtInt(r.recovery.backlog)} pending`, ms(r.recovery.healthyMs), `≤ ${ms(TARGET.healthyMs)}`, atMost(r.recovery.healthyMs, TARGET.healthyMs, ms)]);
  rows.push(["6", `Start → first delivery, ${fmtInt(r.recovery.backlog)} pending`, ms(r.recovery.firstDeliveryMs), `≤ ${ms(TARGET.firstDeliveryMs)}`, atMost(r.recovery.firstDeliveryMs, TARGET.firstDeliveryMs, ms)]);
  rows.push([
    "6",
    "Single binary: size · cold start → healthy",
    r.cold.binary ? `${mb(r.cold.binary.sizeMb)} · ${ms(r.cold.binary.ms)}` : `not built (\`bun src/main.ts\`: ${ms(r.cold.sourceMs)})`,
    "—",
    "—",
  ]);
  const head = ["#", "Measure", "Result", "Target (2 cores)", "Verdict"];
  return [head, head.map(() => "---"), ...rows].map((cols) => `| ${cols.join(" | ")} |`).join("\n");
}

function postgresSection(r: Results): string {
  if (!r.postgres) return "## PostgreSQL (same run)\n\nNot measured: PostgreSQL did not answer.\n";
  return `## PostgreSQL (same run)

The same relay with \`storage: postgres\` (pool 10 per instance), 1 and 3 instances on one database served by the
same ${r.machine.nproc} cores. Ingest: ${r.settings.connections} connections spread over the instances for ${r.postgres.durationS} s, delivery held,
every 2xx after its commit is flushed (synchronous_commit on). Drain: the ingested backlog at concurrency
${r.settings.concurrency} in total (the cap holds over every instance), measured at the receiver. Targets: one instance ≥ 10,000
events/s and ≥ 5,000 deliveries/s; three instances not slower than one. Cores are averages over the phase, from
/proc: the relays, every PostgreSQL process, the bench's own processes (load generator, receiver) and the rest of
the machine; commits/s from pg_stat_database.

${postgresTable(r.postgres.rows)}
`;
}

function profileSection(title: string, p: (ProfileSummary & { cpu: Cpu }) | null, extra = ""): string {
  if (!p) return `### ${title}\n\nNot profiled (BENCH_PROFILE=0, or no profile was written).\n`;
  const lines = [
    `### ${title}`,
    "",
    `${(p.wallMs / 1000).toFixed(1)} s profiled; main thread sampled in JS or in native code called from JS (writes, messages to the database writer thread) about ${((p.sampledMs / p.wallMs) * 100).toFixed(0)}% of the time. ` +
      `From /proc during the load: relay process ${cores(p.cpu.relayCores)}; its main thread on CPU ${pct(p.cpu.relayMainThreadCores)} of the time and ` +
      `waiting for a core ${pct(p.cpu.relayMainRunQueue)}, so blocked in a call or idle the remaining ${pct(Math.max(0, 1 - p.cpu.relayMainThreadCores - p.cpu.relayMainRunQueue))}; ` +
      `machine ${cores(p.cpu.machineCores)} busy (other processes ${cores(p.cpu.othersCores)}).${extra}`,
    "",
    "| Where the main thread's time went (by the deepest project frame) | share |",
    "| --- | ---: |",
    ...p.categories.filter((c) => c.share >= 0.005).map((c) => `| ${c.name} | ${pct(c.share)} |`),
    "",
    "| Hottest functions (self time) | share |",
    "| --- | ---: |",
    ...p.self.slice(0, 10).map((c) => `| \`${c.name}\` | ${pct(c.share)} |`),
    "",
    "| Project functions (inclusive time) | share |",
    "| --- | ---: |",
    ...p.inclusive.slice(0, 10).map((c) => `| \`${c.name}\` | ${pct(c.share)} |`),
    "",
  ];
  return lines.join("\n");
}

function render(r: Results): string {
  const m = r.machine;
  const cpuRow = (name: string, c: Cpu, note: string) =>
    `| ${name} | ${cores(c.machineCores)} | ${cores(c.relayCores)} | ${cores(c.relayMainThreadCores)} | ${pct(c.relayMainRunQueue)} | ${cores(c.othersCores)} | ${note} |`;
  const phases: Array<[string, Cpu]> = [
    ["ingest", r.ingest.cpu],
    ["HTTP pre-fill", r.httpPrefill.cpu],
    ["delivery drain", r.delivery.cpu],
    ["end to end", r.e2e.cpu],
  ];
  const noisy = phases.filter(([, c]) => c.othersCores > 0.25);
  const noise = noisy.length
    ? `\n> **Not a clean run:** other processes on this machine used ${noisy.map(([n, c]) => `${cores(c.othersCores)} during ${n}`).join(", ")}; those numbers are understated.\n`
    : "";
  const analysisPath = join(import.meta.dir, "analysis.md");
  const analysis = existsSync(analysisPath) ? readFileSync(analysisPath, "utf8").trim() : "";
  return `# Relay benchmark results

Generated by \`bun run bench\` (bench/run.ts). Re-running overwrites this file.

## Machine

| | |
| --- | --- |
| Cores (\`nproc\`) | ${m.nproc} |
| Memory | ${m.memoryGiB.toFixed(1)} GiB |
| CPU model (/proc/cpuinfo) | ${m.cpuModel} |
| Kernel | ${m.kernel} |
| Bun | ${m.bun} |
| Filesystem under the SQLite files | ${m.tmpFs} |
| Durable 4 KB append (write + fsync), p50 / p99 | ${r.fsync.map((f) => `${ms(f.p50)} / ${ms(f.p99)} ${f.when}`).join("; ")} |
| Date | ${m.date} |
| Relay measured | ${m.relay} |
| Load generator | ${r.tool} (end to end and the HTTP pre-fill: bench/loadgen.ts on Bun) |
| Whole run | ${(r.runSeconds / 60).toFixed(1)} min |
| Other processes' CPU before the run | ${cores(r.background.cores)} (waited ${r.background.waitedS.toFixed(0)} s for quiet) |
| Priority of the bench and its children | nice ${r.nice}${r.nice !== 0 ? " (BENCH_NICE: other processes on the machine get less CPU; relay and load generator are still equal)" : ""} |

Every ingest acknowledgment waits for an fdatasync of the WAL that started after its commit (the fsync row above).
SQLite runs on the relay's database writer thread, beside the HTTP thread. The disk of this virtual machine has been
seen anywhere between 0.2 ms and 4 ms per fsync; every number below moves with it.

**The load generator, the receiver and the relay share the same ${m.nproc} cores.** Every client cycle spent
generating load is taken from the server, so every throughput below is a lower bound for a relay running alone
(the CPU table shows who used what).
${noise}
## Results

${table(r)}

${postgresSection(r)}
## How each number was taken

1. **Raw ceiling**: \`bench/raw-server.ts\` (a bare \`Bun.serve\` answering 200 without reading the body), the same
   POST body (${r.bodyBytes} bytes of JSON), ${r.settings.connections} connections, ${r.settings.duration} s after a ${r.settings.warmup} s warm-up.
2. **Ingest**: the real \`relay serve\` (\`bun src/main.ts\`, logs to a file) on a fresh temp store, same load. Every
   202 means the event and its outbox row were committed and the WAL synced (fdatasync) after that commit. The destination is held (the
   receiver does not answer the one delivery the worker may start at concurrency 1), so this is ingest alone.
   non-2xx: ${r.ingest.non2xx}, socket errors: ${r.ingest.errors}. The relay made ${r.ingest.writeCallsPerEvent.toFixed(1)} write calls and wrote
   ${r.ingest.writeKbPerEvent.toFixed(1)} KB per acknowledged event (/proc/<pid>/io syscw, wchar: WAL, temp files and log lines).
3. **End to end**: after the drain, the same relay; bench/loadgen.ts sends ${fmtInt(r.settings.e2eRate)} events/s on a fixed
   schedule (open loop, ${r.settings.duration} s, after 2 s of warm-up), each body carrying \`sentAt\` (wall clock, sub-ms); the
   receiver (its own process) records arrival − sentAt. Ingest acknowledgment at that rate: p50 ${ms(r.e2e.sender.latency.p50)},
   p99 ${ms(r.e2e.sender.latency.p99)}; sender lag max ${ms(r.e2e.sender.maxLagMs ?? NaN)}.
4. **Delivery**: ${fmtInt(r.delivery.backlog)} events ingested over HTTP (bench/loadgen.ts, ${r.settings.connections} connections:
   ${fmtInt(r.httpPrefill.rps)} events/s, p99 ${ms(r.httpPrefill.latency.p99)}) while the destination was held, relay
   killed, restarted with the receiver answering \`{"status":"success"}\` at concurrency ${r.settings.concurrency} (the
   destination default). Rate = unique deliveries ÷ (last − first arrival) at the receiver; completion read from the
   store with a read-only bun:sqlite connection: all ${fmtInt(r.delivery.backlog)} \`delivered\` ${r.delivery.allDeliveredAfterSpawnS.toFixed(1)} s after spawn
   (first arrival ${ms(r.delivery.firstAfterSpawnMs)} after spawn; duplicates at the receiver: ${r.delivery.duplicates}).
5. **Memory**: VmRSS from /proc/<pid>/status of the relay process (split into RssAnon, the process's own memory, and
   RssFile, clean pages of the mapped Bun executable shared with every Bun process): idle = 2 s after a fresh start; under load = max of
   200 ms samples and VmHWM during the ingest run; backlog = max during ${r.settings.recoverySeconds} s of delivering with
   ${fmtInt(r.recovery.backlog)} pending (right after healthy: ${mb(r.rss.backlogAfterHealthy)}).
6. **Recovery**: ${fmtInt(r.recovery.backlog)} pending events **written directly into SQLite** (bench/prefill.ts: the
   project's \`openStore\`, so its migrations run, then its \`record\` verb in groups of 25,000; ${r.recovery.prefillSeconds.toFixed(0)} s), then
   \`relay serve\` spawned: "relay started" logged at ${ms(r.recovery.startedMs)}, \`GET /api/health\` healthy at ${ms(r.recovery.healthyMs)},
   first delivery at the receiver ${ms(r.recovery.firstDeliveryMs)} after spawn; then ${fmtInt(r.recovery.rate)} deliveries/s with that backlog.
   Cold start with an empty store: \`bun src/main.ts\` ${ms(r.cold.sourceMs)}${r.cold.binary ? `, single binary ${ms(r.cold.binary.ms)} (${mb(r.cold.binary.sizeMb)})` : "; the single binary was not built (run `bun run build` first)"} (median of 3, spawn → healthy).

### CPU during the measured phases (from /proc; ${m.nproc} cores = ${m.nproc}.00 cores)

| Phase | Machine busy | Relay process | Relay main thread on CPU | Main thread waiting for a core | Other processes (not the bench's) | Rest of the bench's share |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
${cpuRow("Ingest (wrk)", r.ingest.cpu, "load generator + kernel networking")}
${cpuRow("HTTP pre-fill (Bun client)", r.httpPrefill.cpu, "bench/loadgen.ts + kernel")}
${cpuRow("Delivery drain", r.delivery.cpu, "receiver process + kernel")}
${cpuRow("End to end, 1,000/s", r.e2e.cpu, "sender + receiver")}

## Profiles

Taken in the same run with \`bun --cpu-prof\` on the relay (separate, shorter runs of the same loads, so that the
profiler's overhead does not touch the numbers above), summarised by bench/lib/profile.ts.

${profileSection(`Ingest (${r.settings.connections} connections, ${r.settings.profileSeconds} s)`, r.profiles.ingest)}
${profileSection(
  `Delivery drain (concurrency ${r.settings.concurrency}, ${r.settings.profileSeconds} s)`,
  r.profiles.delivery,
  r.profiles.delivery ? ` ${fmtInt(r.profiles.delivery.delivered)} deliveries arrived during the profiled run.` : "",
)}
${analysis ? `## Diagnosis\n\n${analysis.replace(/^# .*\n+/, "").replace(/^## /gm, "### ")}\n` : ""}
## Reproduce

\`\`\`
bun run bench                                   # full run, defaults above, ~${Math.ceil(r.runSeconds / 60)} min here
BENCH_BACKLOG=100000 BENCH_DURATION=5 bun run bench   # quick run
bun bench/run.ts --report                       # re-render this file from results.json
\`\`\`
wrk is installed with apt-get when missing and running as root; otherwise the Bun load generator is used.
`;
}

/** `bun bench/run.ts --report`: renders results.md again from results.json (e.g. after editing analysis.md). */
async function reportOnly(): Promise<void> {
  const r = JSON.parse(readFileSync(RESULTS.replace(/\.md$/, "") + ".json", "utf8")) as Results;
  writeFileSync(RESULTS, render(r));
  say(table(r));
}

(process.argv.includes("--report") ? reportOnly() : main()).then(
  () => {
    clearTimeout(watchdog);
    cleanup();
    process.exit(0);
  },
  (error) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    cleanup();
    process.exit(1);
  },
);
