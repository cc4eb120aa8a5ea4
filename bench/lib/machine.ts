// What the numbers were measured on; no paths, nothing secret.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { join } from "node:path";

export interface Machine {
  nproc: number;
  memoryGiB: number;
  cpuModel: string;
  kernel: string;
  bun: string;
  /** Filesystem type under the bench's temp directory (where SQLite syncs). */
  tmpFs: string;
  date: string;
  relay: string;
}

function run(cmd: string[]): string {
  try {
    const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString().trim() : "";
  } catch {
    return "";
  }
}

export function describeMachine(tmpDir: string, relayRoot: string): Machine {
  const nproc = Number(run(["nproc"])) || availableParallelism();
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  const tmpFs = run(["findmnt", "-n", "-o", "FSTYPE", "--target", tmpDir]) || run(["stat", "-f", "-c", "%T", tmpDir]) || "unknown";
  return {
    nproc,
    memoryGiB: memKb / 1024 / 1024,
    cpuModel,
    kernel: release(),
    bun: Bun.version,
    tmpFs,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    relay: describeRelay(relayRoot),
  };
}

/** The measured tree: BENCH_RELAY_LABEL, else its git commit and whether src/ had uncommitted changes. */
function describeRelay(root: string): string {
  if (process.env.BENCH_RELAY_LABEL) return process.env.BENCH_RELAY_LABEL;
  if (!existsSync(join(root, ".git"))) return "a tree without git metadata";
  const commit = run(["git", "-C", root, "rev-parse", "--short", "HEAD"]);
  const dirty = run(["git", "-C", root, "status", "--porcelain", "--", "src"]);
  return dirty ? `commit ${commit} plus uncommitted changes in src/` : `commit ${commit}`;
}

/**
 * How long the disk under `dir` takes to make a 4 KB append durable (write + fsync), the cost every
 * synchronous=FULL commit pays. `count` rounds, bounded; the file is removed afterwards.
 */
export function fsyncProbe(dir: string, count = 200): { p50: number; p99: number } {
  const path = join(dir, "fsync-probe");
  const fd = openSync(path, "w");
  const block = Buffer.alloc(4096, 7);
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      writeSync(fd, block);
      const t0 = performance.now();
      fsyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(count * 0.5)], p99: times[Math.min(count - 1, Math.ceil(count * 0.99) - 1)] };
}
