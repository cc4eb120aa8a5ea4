// Idle-memory experiment behind the diagnosis in bench/analysis.md: VmRSS of an idle `relay serve` (2 s after
// it is healthy, empty store), as shipped and with one dependency replaced by a stub at load time (a Bun
// preload plugin, no change to src/), to see what each would save if it were loaded lazily or not at all.
// A stub that is not loaded by the measured tree changes nothing.
// `bun bench/experiments/idle-rss.ts` (BENCH_RELAY_ROOT picks another checkout). 127.0.0.1 only; one relay at a time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryMb, startRelay, stop, waitHealthy } from "../lib/proc.ts";
import { median, sleep } from "../lib/stats.ts";

const STUBS: Record<string, string> = {
  jsonata: `build.module("jsonata", () => ({ exports: { default: () => ({ evaluate: async () => null }) }, loader: "object" }));`,
  "@elysiajs/openapi": `build.module("@elysiajs/openapi", async () => { const { Elysia } = await import("elysia"); return { exports: { openapi: () => new Elysia({ name: "openapi-stub" }) }, loader: "object" }; });`,
};

const variants: Array<[string, string[], string[]]> = [
  ["as shipped", [], []],
  ["bun --smol", ["--smol"], []],
  ["jsonata not loaded", [], ["jsonata"]],
  ["@elysiajs/openapi not loaded", [], ["@elysiajs/openapi"]],
  ["neither of the two", [], ["jsonata", "@elysiajs/openapi"]],
];

const dir = mkdtempSync(join(tmpdir(), "relay-idle-rss-"));
try {
  console.log("| idle relay (empty store) | VmRSS, median of 3 |");
  console.log("| --- | ---: |");
  for (const [name, flags, stubbed] of variants) {
    const preload = join(dir, `stub-${name.replace(/\W+/g, "-")}.ts`);
    writeFileSync(preload, `Bun.plugin({ name: "bench-stubs", setup(build) {\n${stubbed.map((m) => STUBS[m]).join("\n")}\n} });\n`);
    const rss: number[] = [];
    for (let i = 0; i < 3; i++) {
      const run = join(dir, `${name.replace(/\W+/g, "-")}-${i}`);
      mkdirSync(run);
      const config = join(run, "relay.yaml");
      writeFileSync(
        config,
        `server: { host: 127.0.0.1 }\nstorage: { path: ./data/relay.db }\nsources: { bench: { id: bench-source } }\n` +
          `destinations: { sink: { url: "http://127.0.0.1:9/hook" } }\nroutes: [ { from: bench, to: sink } ]\n`,
      );
      const relay = await startRelay({ configPath: config, cwd: run, logPath: join(run, "relay.log"), bunFlags: [...flags, "--preload", preload] });
      await waitHealthy(relay.url);
      await sleep(2000);
      rss.push(memoryMb(relay.pid).rss);
      await stop(relay.proc, "SIGKILL");
    }
    console.log(`| ${name} | ${median(rss).toFixed(1)} MB |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
