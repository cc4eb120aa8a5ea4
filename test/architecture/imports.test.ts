import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { importsOf, violations, type SourceFile } from "../../src/architecture.ts";

// The module table of src/architecture.ts (ARCHITECTURE.md's), checked on every import of the program.
const SRC = join(import.meta.dir, "..", "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}
const program: SourceFile[] = files(SRC).map((file) => ({
  path: relative(SRC, file).split(sep).join("/"),
  text: readFileSync(file, "utf8"),
}));

describe("the program", () => {
  test("the reader sees every source file and its imports", () => {
    expect(program.length).toBeGreaterThan(50);
    const server = program.find((f) => f.path === "server.ts")!;
    expect(importsOf(server.text)).toContain("./app.ts");
  });

  test("keeps every rule of the table", () => {
    expect(violations(program)).toEqual([]);
  });
});

/** The rule broken by one planted file among files the table allows; `also` are further files it may name. */
function broken(path: string, text: string, also: string[] = []): string[] {
  const planted: SourceFile[] = [{ path, text }, ...also.map((p) => ({ path: p, text: "export {};" }))];
  return violations(planted).map((v) => v.rule);
}

describe("a planted violation fails", () => {
  test.each([
    ["the kernel imports the kernel only", "errors.ts", `import { openStore } from "./store/store.ts";`],
    ["the kernel imports the kernel only", "config/types.ts", `import { x } from "./load.ts";`],
    ["only nothing may import main.ts", "server.ts", `import "./main.ts";`],
    ["only main.ts may import server.ts", "cli/try.ts", `const s = await import("../server.ts");`],
    ["only server.ts may import app.ts", "ops/metrics.ts", `export { createApp } from "../app.ts";`],
    ["app.ts may not import delivery", "app.ts", `import { createWorker } from "./delivery/worker.ts";`],
    ["config may not import routing", "config/normalise.ts", `import { matchRoutes } from "../routing/match.ts";`],
    ["config may not import delivery", "config/load.ts", `import { x } from '../delivery/policy.ts';`],
    ["config may not import delivery", "config/normalise.ts", `import { resolveTarget } from "../delivery/send.ts";`],
    ["signing may not import config", "signing/verify.ts", `import { loadConfig } from "../config/load";`],
    ["routing may not import store", "routing/plan.ts", `import { openStore } from "../store/store.ts";`],
    ["store may not import config", "store/store.ts", `import { loadConfig } from "../config/load.ts";`],
    ["store may not import delivery", "store/postgres/store.ts", `import { createWorker } from "../../delivery/worker.ts";`],
    ["auth may not import config", "auth/keys.ts", `import { loadConfig } from "../config/load.ts";`],
    ["ingest may not import delivery", "ingest/receive.ts", `import { createWorker } from '../delivery/worker';`],
    ["admin may not import ingest", "admin/events.ts", `import { readEvent } from "../ingest/receive.ts";`],
    ["admin may not import delivery", "admin/destinations.ts", `import "../delivery/send.ts";`],
    ["ui may not import delivery", "ui/pages.ts", `import { send } from "../delivery/send.ts";`],
    ["ui may not import admin", "ui/pages.ts", `import { eventsAdminPlugin } from "../admin/events.ts";`],
    ["delivery may not import ingest", "delivery/worker.ts", `import { plan } from "../ingest/receive.ts";`],
    ["digest may not import delivery", "digest/scheduler.ts", `import { createWorker } from "../delivery/worker.ts";`],
    ["ops may not import auth", "ops/metrics.ts", `const { createGuard } = require("../auth/guard.ts");`],
    ["cli may not import app.ts", "cli/try.ts", `import { createApp } from "../app.ts";`],
    ["pure modules do no I/O", "routing/render.ts", `import { readFileSync } from 'fs';`],
    ["pure modules do no I/O", "signing/hmac.ts", `import { readFileSync } from "node:fs";`],
    ["pure modules do no I/O", "delivery/policy.ts", `import { Database } from "bun:sqlite";`],
    ["pure modules do no I/O", "delivery/circuit.ts", `import type { X } from "../config/types.ts"; import "../store/store.ts";`],
    ["pure modules do no I/O", "routing/jsonata.ts", `export const get = (url: string) => fetch(url);`],
    ["pure modules do no I/O", "signing/sign.ts", `export const read = () => Bun.file("/etc/hosts").text();`],
    ["pure modules do no I/O", "delivery/egress.ts", `import { lookup } from "node:dns/promises";`],
    ["pure modules do no I/O", "delivery/backoff.ts", `export const wait = () => Bun.connect({ hostname: "db", port: 5432 });`],
    ["thing.ts belongs to no module of the table", "thing.ts", `export const x = 1;`],
  ])("%s (%s)", (rule, path, text) => {
    expect(broken(path, text)).toEqual([rule]);
  });

  test("an import without its extension is resolved to the file it names", () => {
    expect(broken("ingest/receive.ts", `import { send } from "../delivery/send";`, ["delivery/send.ts"])).toEqual([
      "ingest may not import delivery",
    ]);
    expect(broken("admin/events.ts", `import "../ingest";`, ["ingest/index.ts"])).toEqual(["admin may not import ingest"]);
  });

  test("allowed imports pass: the kernel, the module itself, its table entries, packages, type-only imports", () => {
    expect(broken("digest/scheduler.ts", `import { nextAttemptAt } from "../delivery/policy.ts";`)).toEqual([]);
    expect(broken("config/normalise.ts", `import { schemeFromPreset } from "../signing/presets.ts";`)).toEqual([]);
    expect(broken("config/normalise.ts", `import { cidrProblem } from "../delivery/egress.ts";`)).toEqual([]);
    expect(broken("routing/plan.ts", `import { newId } from "../ids.ts"; import type { Store } from "../store/store.ts";`)).toEqual([]);
    expect(broken("ui/pages/find.ts", `import { eventQuery } from "../../admin/kit.ts"; import type { AdminActions } from "../../admin/actions.ts";`)).toEqual([]);
    expect(broken("routing/render.ts", `import jsonata from "jsonata"; import { createHmac } from "node:crypto";`)).toEqual([]);
    expect(broken("version.ts", `import pkg from "../package.json" with { type: "json" };`)).toEqual([]);
    expect(broken("main.ts", `#!/usr/bin/env bun\nimport { startRelay } from "./server.ts";`)).toEqual([]);
    // A comment is not a call; I/O outside the pure modules is their business.
    expect(broken("routing/match.ts", `// never fetch(url) here, nor Bun.file(path)\nexport const x = 1;`)).toEqual([]);
    expect(broken("delivery/send.ts", `export const get = (url: string) => fetch(url);`)).toEqual([]);
  });
});
