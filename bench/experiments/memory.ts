// Memory experiment behind the diagnosis in bench/analysis.md: resident memory (VmRSS after a full GC) of a
// Bun process that loads nothing, each of Relay's dependencies alone, and Relay's own modules, each in a fresh
// process. `bun bench/experiments/memory.ts` (BENCH_RELAY_ROOT picks another checkout). Bounded: one process at a time.
import { join, resolve } from "node:path";

const ROOT = resolve(process.env.BENCH_RELAY_ROOT || join(import.meta.dir, "..", ".."));

const cases: Array<[string, string]> = [
  ["bun, nothing loaded", ""],
  ["bun:sqlite + open a database", `const { Database } = await import("bun:sqlite"); globalThis.db = new Database(":memory:");`],
  ["elysia", `globalThis.m = await import("elysia");`],
  ["@elysiajs/openapi", `globalThis.m = await import("@elysiajs/openapi");`],
  ["@sinclair/typebox (+compiler)", `globalThis.m = [await import("@sinclair/typebox"), await import("@sinclair/typebox/compiler")];`],
  ["drizzle-orm/bun-sqlite", `globalThis.m = await import("drizzle-orm/bun-sqlite");`],
  ["jsonata", `globalThis.m = await import("jsonata");`],
  ["yaml", `globalThis.m = await import("yaml");`],
  ["croner", `globalThis.m = await import("croner");`],
  ["src/app.ts (createApp imported, not called)", `globalThis.m = await import(${JSON.stringify(join(ROOT, "src", "app.ts"))});`],
  ["src/server.ts (everything serve loads)", `globalThis.m = await import(${JSON.stringify(join(ROOT, "src", "server.ts"))});`],
];

function rssAfterGc(code: string): number {
  const script = `${code}
Bun.gc(true); await Bun.sleep(50); Bun.gc(true);
const s = require("node:fs").readFileSync("/proc/self/status", "utf8");
console.log(Number(/^VmRSS:\\s+(\\d+)/m.exec(s)[1]) / 1024);`;
  const r = Bun.spawnSync([process.execPath, "-e", script], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  const out = r.stdout.toString().trim();
  if (r.exitCode !== 0 || !out) throw new Error(`case failed: ${r.stderr.toString().slice(0, 500)}`);
  return Number(out.split("\n").pop());
}

const base = rssAfterGc("");
console.log("| loaded in a fresh Bun process | VmRSS after GC | over bare Bun |");
console.log("| --- | ---: | ---: |");
for (const [name, code] of cases) {
  const runs = [rssAfterGc(code), rssAfterGc(code), rssAfterGc(code)].sort((a, b) => a - b);
  const mb = runs[1];
  console.log(`| ${name} | ${mb.toFixed(1)} MB | ${name.startsWith("bun, nothing") ? "—" : `+${(mb - base).toFixed(1)} MB`} |`);
}
