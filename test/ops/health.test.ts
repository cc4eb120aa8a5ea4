import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startHarness, type Harness } from "../support/harness.ts";
import { healthChecks } from "../../src/ops/health-checks.ts";
import { createStorageHealth } from "../../src/ops/storage-health.ts";

const YAML = `
storage:
  path: ./data/relay.db
sources:
  shop: { id: shop-1 }
destinations:
  crm: { url: "http://127.0.0.1:9/crm" }
routes:
  - { from: shop, to: crm }
`;

let h: Harness;
afterEach(() => h?.stop().catch(() => {}));

const checksOf = (minFreeBytes = 0) =>
  healthChecks({
    store: h.relay.store,
    storage: createStorageHealth({ clock: h.clock, path: () => h.dbPath, minFreeBytes: () => minFreeBytes, commitTimeoutMs: () => 5_000 }),
    destinations: () => ["crm", "gone"],
    clock: h.clock,
  });

test("outbox: the age of the delivery first in line; over an hour is a warning, not unhealthy", async () => {
  h = await startHarness(YAML);
  expect(await checksOf().outbox()).toEqual({ status: "ok", oldestPendingSeconds: 0, destination: null });
  expect((await h.call("POST", "/api/webhook/shop-1", { body: { type: "x" } })).status).toBe(202);
  h.clock.advance(90_000);
  expect(await checksOf().outbox()).toEqual({ status: "ok", oldestPendingSeconds: 90, destination: "crm" });
  h.clock.advance(2 * 3600_000);
  const res = await h.call("GET", "/api/health");
  expect(res.status).toBe(200);
  expect(res.json.status).toBe("healthy");
  expect(res.json.checks.outbox).toMatchObject({ status: "warn", oldestPendingSeconds: 7290, destination: "crm" });
});

test("storage: free bytes beside the database; failed below storage.min_free", async () => {
  h = await startHarness(YAML);
  expect(await checksOf().storage()).toEqual({ status: "ok", freeBytes: expect.any(Number) });
  const low = await checksOf(Number.MAX_SAFE_INTEGER).storage();
  expect(low).toMatchObject({ status: "failed", freeBytes: expect.any(Number) });
  expect(low.error).toMatch(/^free disk space [\d.]+ MB is below storage.min_free/);
});

test("writer: a round trip to the writer thread; a store that can no longer write makes Relay unhealthy", async () => {
  h = await startHarness(YAML);
  expect(await checksOf().writer()).toEqual({ status: "ok" });
  h.relay.store.close();
  const res = await h.call("GET", "/api/health");
  expect(res.status).toBe(503);
  expect(res.json.checks.writer).toMatchObject({ status: "failed", error: expect.stringContaining("closed") });
});

test("the README's health table names exactly the checks GET /api/health answers with (instances: PostgreSQL only)", async () => {
  h = await startHarness(YAML);
  const res = await h.call("GET", "/api/health");
  expect(res.status).toBe(200);
  expect(Object.keys(res.json).sort()).toEqual(["checks", "status", "totalMs", "uptime", "version"]);
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const table = readme.slice(readme.indexOf("| check | what it does | fails when |"), readme.indexOf("### Failure behaviour"));
  const documented = [...table.matchAll(/^\s*\| `(\w+)` \|/gm)].map((m) => m[1]);
  expect(documented.filter((name) => name !== "instances")).toEqual(Object.keys(res.json.checks));
  for (const check of Object.values(res.json.checks) as Array<{ status: string; ms: number }>) {
    expect(check.status).toBe("ok");
    expect(check.ms).toBeGreaterThanOrEqual(0);
  }
});
