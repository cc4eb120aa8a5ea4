// Child processes of the bench (relay, receiver, raw server, load generators) and what /proc says about them.
import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { sleep, wallMs } from "./stats.ts";

/** The checkout whose src/ is measured: this repository, or BENCH_RELAY_ROOT (e.g. a snapshot of a commit). */
export const REPO = resolve(process.env.BENCH_RELAY_ROOT || join(import.meta.dir, "..", ".."));
export const RELAY_MAIN = join(REPO, "src", "main.ts");
export const BUN = process.execPath;

const children = new Set<Subprocess>();

/** Remembers a child so that a failing or interrupted bench still ends it (by its pid). */
export function track<T extends Subprocess>(proc: T): T {
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

export function killAll(): void {
  for (const proc of children) {
    try {
      proc.kill("SIGKILL");
    } catch {}
  }
  children.clear();
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILL; resolves with the exit code (null if it never exited). */
export async function stop(proc: Subprocess, signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  proc.kill(signal);
  const exited = await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await Promise.race([proc.exited, sleep(5_000)]);
  }
  return proc.exitCode;
}

/** Starts a bench helper (receiver, raw server) that prints {"url": …} as its first stdout line. */
export async function startHelper(script: string, args: string[] = []): Promise<{ proc: Subprocess<"ignore", "pipe", "inherit">; url: string }> {
  const proc = track(Bun.spawn([BUN, join(import.meta.dir, "..", script), ...args], { stdin: "ignore", stdout: "pipe", stderr: "inherit" }));
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 15_000;
  while (!text.includes("\n")) {
    const chunk = await Promise.race([reader.read(), sleep(Math.max(0, deadline - Date.now())).then(() => null)]);
    if (!chunk || chunk.done) {
      await stop(proc, "SIGKILL");
      throw new Error(`${script} did not start`);
    }
    text += decoder.decode(chunk.value, { stream: true });
  }
  reader.releaseLock();
  return { proc, url: JSON.parse(text.slice(0, text.indexOf("\n"))).url };
}

export interface RelayHandle {
  proc: Subprocess;
  pid: number;
  url: string;
  logPath: string;
  /** Wall-clock ms when spawn was called and when the "relay started" line was seen (NaN below info level). */
  spawnedAt: number;
  startedAt: number;
}

export interface RelayStart {
  configPath: string;
  cwd: string;
  logPath: string;
  /** The single binary instead of `bun src/main.ts`. */
  binary?: string;
  /** Extra bun flags (e.g. --cpu-prof) before the script. */
  bunFlags?: string[];
  env?: Record<string, string>;
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it; the listener is closed at once). */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/**
 * Starts the real `relay serve` on a free port of 127.0.0.1, logging to a file (not a pipe the bench would have
 * to drain). Ready when it logs "relay started" or, at any log level, when GET /api/health answers.
 */
export async function startRelay(o: RelayStart): Promise<RelayHandle> {
  const command = o.binary ? [o.binary] : [BUN, ...(o.bunFlags ?? []), RELAY_MAIN];
  // The log may hold an earlier run's lines: only what this process appends counts.
  const offset = existsSync(o.logPath) ? statSync(o.logPath).size : 0;
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const fd = openSync(o.logPath, "a");
  const spawnedAt = wallMs();
  let proc: Subprocess;
  try {
    proc = track(
      Bun.spawn([...command, "serve", "--config", o.configPath, "--port", String(port)], {
        cwd: o.cwd,
        stdin: "ignore",
        stdout: fd,
        stderr: fd,
        env: { ...process.env, ...o.env },
      }),
    );
  } finally {
    closeSync(fd);
  }
  const deadline = Date.now() + 60_000;
  for (let i = 0; ; i++) {
    const started = readFileSync(o.logPath).subarray(offset).toString("utf8").includes('"relay started"');
    if (started) return { proc, pid: proc.pid, url, logPath: o.logPath, spawnedAt, startedAt: wallMs() };
    // Below info level there is no "relay started" line: after 3 s, readiness is a healthy answer.
    if (i > 1500 && i % 10 === 9) {
      const ok = await fetch(`${url}/api/health`).then((r) => r.ok, () => false);
      if (ok) return { proc, pid: proc.pid, url, logPath: o.logPath, spawnedAt, startedAt: NaN };
    }
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      await stop(proc, "SIGKILL");
      throw new Error(`relay did not start:\n${readFileSync(o.logPath, "utf8").slice(-4000)}`);
    }
    await sleep(2);
  }
}

/** Polls GET /api/health until it answers 200 "healthy"; resolves with the wall-clock time it did. */
export async function waitHealthy(url: string, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/api/health`);
      const body = (await res.json()) as { status?: string };
      if (res.status === 200 && body.status === "healthy") return wallMs();
    } catch {}
    await sleep(2);
  }
  throw new Error(`${url} not healthy within ${timeoutMs} ms`);
}

/**
 * VmRSS and VmHWM (peak) of a process, in MB, and the two parts of RSS: anonymous memory (heap, SQLite cache)
 * and file-backed pages (mostly the mapped Bun executable, shared with every other Bun process and clean).
 */
export function memoryMb(pid: number): { rss: number; peak: number; anon: number; file: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024, anon: kb("RssAnon") / 1024, file: kb("RssFile") / 1024 };
  } catch {
    return { rss: NaN, peak: NaN, anon: NaN, file: NaN };
  }
}

let clockTicks = 0;
function ticksPerSecond(): number {
  if (clockTicks === 0) {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
    clockTicks = Number(out) || 100;
  }
  return clockTicks;
}

function statCpuSeconds(path: string, withChildren = false): number {
  try {
    const stat = readFileSync(path, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After "(comm) ", fields[0] is the state (field 3): utime, stime, cutime, cstime are fields 14-17.
    const own = Number(fields[11]) + Number(fields[12]);
    const reaped = withChildren ? Number(fields[13]) + Number(fields[14]) : 0;
    return (own + reaped) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** CPU seconds of the bench and everything it started: itself, reaped children, live tracked children. */
export function benchTreeCpuSeconds(): number {
  let total = statCpuSeconds("/proc/self/stat", true);
  for (const proc of children) {
    const s = statCpuSeconds(`/proc/${proc.pid}/stat`);
    if (Number.isFinite(s)) total += s;
  }
  return total;
}

/** CPU seconds of every process named `comm` (e.g. "postgres"), reaped children included, so connections that come and go count. */
export function commCpuSeconds(comm: string): number {
  let total = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== comm) continue;
    } catch {
      continue;
    }
    const s = statCpuSeconds(`/proc/${pid}/stat`, true);
    if (Number.isFinite(s)) total += s;
  }
  return total;
}

/** CPU seconds used so far by a whole process and by its main thread. */
export function cpuSeconds(pid: number): { process: number; main: number } {
  return { process: statCpuSeconds(`/proc/${pid}/stat`), main: statCpuSeconds(`/proc/${pid}/task/${pid}/stat`) };
}

/** Scheduler view of one thread (/proc/<pid>/task/<tid>/schedstat): seconds on a CPU and seconds runnable but waiting for one. */
export function schedSeconds(pid: number, tid = pid): { onCpu: number; runQueue: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
    return { onCpu: run / 1e9, runQueue: wait / 1e9 };
  } catch {
    return { onCpu: NaN, runQueue: NaN };
  }
}

/** CPU seconds used by each thread of a process, by thread name. */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let name = "?";
      try {
        name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      } catch {}
      if (tid === String(pid)) name = "main";
      out[name] = (out[name] ?? 0) + statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    }
  } catch {}
  return out;
}

/** Machine-wide CPU seconds (busy, total) summed over all cores, from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
}

/** write(2)-family calls and bytes of a process so far (/proc/<pid>/io; needs the same user or root). */
export function ioCounters(pid: number): { calls: number; bytes: number } {
  try {
    const s = readFileSync(`/proc/${pid}/io`, "utf8");
    const v = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, "m").exec(s)?.[1] ?? NaN);
    return { calls: v("syscw"), bytes: v("wchar") };
  } catch {
    return { calls: NaN, bytes: NaN };
  }
}

/** Samples a process's RSS every `everyMs` until stopped; bounded by `maxMs`. */
export function rssSampler(pid: number, everyMs = 200, maxMs = 30 * 60_000) {
  let max = 0;
  let last = 0;
  let maxAnon = 0;
  const t0 = Date.now();
  const sample = () => {
    const { rss, anon } = memoryMb(pid);
    if (Number.isFinite(rss)) {
      last = rss;
      max = Math.max(max, rss);
      maxAnon = Math.max(maxAnon, anon);
    }
  };
  sample();
  const timer = setInterval(() => {
    sample();
    if (Date.now() - t0 > maxMs) clearInterval(timer);
  }, everyMs);
  return {
    stop(): { max: number; last: number; maxAnon: number } {
      clearInterval(timer);
      sample();
      return { max, last, maxAnon };
    },
  };
}

/**
 * CPU use between start() and stop(), in cores: the relay (`pid`, if given) and its main thread, the whole
 * machine, and "others": machine minus the bench's own process tree (other users' work on a shared machine).
 */
export function cpuMeter(pid?: number) {
  const t0 = performance.now();
  const p0 = pid ? cpuSeconds(pid) : { process: 0, main: 0 };
  const s0 = pid ? schedSeconds(pid) : { onCpu: 0, runQueue: 0 };
  const m0 = machineCpuSeconds();
  const b0 = benchTreeCpuSeconds();
  return {
    stop() {
      const wall = (performance.now() - t0) / 1000;
      const p1 = pid ? cpuSeconds(pid) : { process: 0, main: 0 };
      const s1 = pid ? schedSeconds(pid) : { onCpu: 0, runQueue: 0 };
      const m1 = machineCpuSeconds();
      const b1 = benchTreeCpuSeconds();
      const machineCores = (m1.busy - m0.busy) / wall;
      return {
        wallSeconds: wall,
        relayCores: (p1.process - p0.process) / wall,
        relayMainThreadCores: (p1.main - p0.main) / wall,
        /** Share of wall time the relay's main thread was runnable but waiting for a core (CPU contention). */
        relayMainRunQueue: (s1.runQueue - s0.runQueue) / wall,
        machineCores,
        othersCores: Math.max(0, machineCores - (b1 - b0) / wall),
      };
    },
  };
}
