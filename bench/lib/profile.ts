// Reads a .cpuprofile written by `bun --cpu-prof` (Chrome format) and says where the main thread's time went.
// JSC samples the main thread while it is inside JS or a native call made from JS, so time blocked in a
// syscall made from JS (SQLite's fsync, a write to stdout) is counted; time idle in the event loop is not.
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers, and samples × the median sampling interval: roughly the time spent in JS or native calls from JS. */
  wallMs: number;
  sampledMs: number;
  categories: Row[];
  self: Row[];
  /** Inclusive time of this project's own functions (src/). */
  inclusive: Row[];
}

/** A readable location without machine paths: src/…, node_modules/<pkg>/…, bun:…, or (native). */
export function shortUrl(url: string): string {
  if (!url || url === "[native code]") return "(native)";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + 1);
  const src = url.lastIndexOf("/src/");
  if (src >= 0) return url.slice(src + 1);
  if (!url.includes("/")) return url;
  return url.slice(url.lastIndexOf("/") + 1);
}

const label = (f: CallFrame) => `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}`;

/** Maps a stack (leaf first) to one category: the leaf-most frame that belongs to a known part decides. */
function categorize(stack: CallFrame[]): string {
  const leaf = stack[0];
  if (leaf && /^\((garbage collector|program|idle)\)$/.test(leaf.functionName)) return leaf.functionName;
  for (let i = 0; i < stack.length; i++) {
    const f = stack[i];
    const u = shortUrl(f.url);
    if (u === "src/log.ts") return "logging: JSON log lines to stdout (src/log.ts)";
    if (u === "src/store/writer.ts") return "store: hand-off to the database writer thread (messages both ways)";
    if (u === "src/store/store.ts") {
      // The store verb is the outermost store.ts frame of this run of store frames.
      let verb = f.functionName;
      for (let j = i + 1; j < stack.length && shortUrl(stack[j].url) === "src/store/store.ts"; j++) verb = stack[j].functionName || verb;
      const names = stack.slice(i).map((s) => s.functionName);
      if (names.some((n) => /^(flush|record|writeBatch)$/.test(n))) return "store: ingest group commit (insert + COMMIT/fsync)";
      if (names.includes("claim")) return "store: claim (UPDATE … RETURNING, one transaction per claim)";
      if (names.includes("settle")) return "store: settle (attempt rows + status, one transaction per batch)";
      return `store: ${verb || "other"}`;
    }
    if (u === "src/delivery/send.ts" || u === "src/delivery/request.ts" || u.startsWith("src/signing/")) return "delivery: build, sign and fetch the outbound request";
    if (u.startsWith("src/delivery/")) return "delivery: worker loop";
    if (u.startsWith("node_modules/elysia/") || u.startsWith("node_modules/memoirist/") || u.startsWith("node_modules/@elysiajs/"))
      return "HTTP framework: Elysia routing, handler, response mapping";
    if (u.startsWith("src/ingest/") || u.startsWith("src/routing/") || u.startsWith("src/auth/") || u === "src/ids.ts")
      return "ingest: parse, route, render, ids";
    if (u.startsWith("src/")) return `other project code (${u})`;
  }
  return "runtime/native outside project frames (HTTP server, timers, promises)";
}

export function summarizeProfile(path: string, top = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const categories = new Map<string, number>();
  let sampledUs = 0;
  const stackCache = new Map<number, CallFrame[]>();
  const stackOf = (id: number): CallFrame[] => {
    let s = stackCache.get(id);
    if (s) return s;
    s = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.functionName === "(root)") break;
      s.push(f);
    }
    stackCache.set(id, s);
    return s;
  };

  // Every sample counts the same: the sampler ticks at a fixed interval while the thread runs JS (or native code
  // called from JS) and not while the event loop is idle, so a long gap between two samples is idle time and must
  // not be charged to the stack before it (that would blame whatever ran last before each sleep).
  const deltas = [...p.timeDeltas].sort((a, b) => a - b);
  const nominalUs = deltas[Math.floor(deltas.length / 2)] ?? 1000;
  for (let i = 0; i < p.samples.length; i++) {
    const us = nominalUs;
    const stack = stackOf(p.samples[i]);
    if (stack.length === 0) continue;
    sampledUs += us;
    const leaf = label(stack[0]);
    self.set(leaf, (self.get(leaf) ?? 0) + us);
    const seen = new Set<string>();
    for (const f of stack) {
      if (!shortUrl(f.url).startsWith("src/")) continue;
      const l = label(f);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + us);
    }
    const c = categorize(stack);
    categories.set(c, (categories.get(c) ?? 0) + us);
  }
  const rows = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: sampledUs > 0 ? us / sampledUs : 0 }));
  return {
    wallMs: (p.endTime - p.startTime) / 1000,
    sampledMs: sampledUs / 1000,
    categories: rows(categories, 20),
    self: rows(self, top),
    inclusive: rows(inclusive, top),
  };
}
