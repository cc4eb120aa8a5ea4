import { afterAll, describe, expect, test } from "bun:test";
import { instanceWarnings } from "../../src/admin/instances.ts";
import { admin, createKeyViaApi, startHarness, T0, TEST_YAML, type Harness } from "../support/harness.ts";
import { postgresEnabled, testSchema } from "../support/postgres.ts";

const row = (id: string, version: string, configHash: string, lastSeenAt: number) => ({ id, version, configHash, startedAt: 0, lastSeenAt });

describe("instanceWarnings", () => {
  test("live instances that differ in version or config are named; gone ones do not count", () => {
    const now = 100_000;
    expect(instanceWarnings([row("a", "1.0", "h1", now), row("b", "1.0", "h1", now - 1000)], now)).toEqual([]);
    expect(instanceWarnings([row("a", "1.0", "h1", now), row("b", "1.1", "h2", now)], now)).toEqual([
      "live instances run different versions: 1.0, 1.1",
      "live instances run different configs (hashes h1, h2)",
    ]);
    expect(instanceWarnings([row("a", "1.0", "h1", now), row("old", "0.9", "h0", now - 60_000)], now)).toEqual([]);
  });
});

describe("GET /api/instances on SQLite", () => {
  test("lists this process, live, for an admin only", async () => {
    const h = await startHarness();
    try {
      expect((await h.call("GET", "/api/instances")).status).toBe(401);
      const res = await h.call("GET", "/api/instances", { headers: admin });
      expect(res.status).toBe(200);
      expect(res.json.instances).toMatchObject([{ id: "local", live: true, startedAt: new Date(T0).toISOString() }]);
      expect(res.json.instances[0].configHash).toMatch(/^[0-9a-f]{16}$/);
      expect(res.json.warnings).toEqual([]);
      // One process owns a SQLite file: there is no other instance for health to compare.
      expect((await h.call("GET", "/api/health")).json.checks.instances).toBeUndefined();
    } finally {
      await h.stop();
    }
  });
});

(postgresEnabled() ? describe : describe.skip)("instances sharing PostgreSQL", () => {
  const schema = testSchema("instances");
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.stop();
    await schema.drop();
  });
  const onPostgres = (yaml: string) =>
    yaml.replace("  path: ./data/relay.db", `  path: ./data/relay.db\n  postgres:\n    url: "${schema.url}"\n    pool: 2`);

  test("each instance sees every other; health warns while their configs differ", async () => {
    process.env.RELAY_INSTANCE_ID = "first";
    harnesses.push(await startHarness(onPostgres(TEST_YAML)));
    process.env.RELAY_INSTANCE_ID = "second";
    harnesses.push(await startHarness(onPostgres(TEST_YAML.replace("http://127.0.0.1:9/unused", "http://127.0.0.1:9/other"))));
    delete process.env.RELAY_INSTANCE_ID;
    const [a, b] = harnesses;
    const listed = await b.call("GET", "/api/instances", { headers: admin });
    expect(listed.json.instances.map((i: { id: string; live: boolean }) => [i.id, i.live])).toEqual([
      ["first", true],
      ["second", true],
    ]);
    const health = await a.call("GET", "/api/health");
    expect(health.status).toBe(200);
    // A warning beside the other checks: Relay stays healthy.
    expect(health.json.checks.instances).toEqual({
      status: "warn",
      ms: expect.any(Number),
      warnings: [expect.stringMatching(/^live instances run different configs/)],
    });
    expect(health.json.checks.writer).toMatchObject({ status: "ok", via: "PostgreSQL connection pool" });
    expect(health.json.checks.storage).toMatchObject({ status: "ok", freeSpace: "not checked on PostgreSQL" });
  });

  test("an API key's rate limit holds across instances: one bucket, whichever instance is asked", async () => {
    const [a, b] = harnesses;
    const { key } = await createKeyViaApi(a, { name: "shared", scopes: ["webhook:write"], source: "chat", rateLimitPerMinute: 2 });
    const send = (h: Harness) => h.call("POST", "/api/webhook/chat-url-id", { headers: { "x-api-key": key }, body: { type: "message" } });
    expect((await send(a)).status).toBe(202);
    expect((await send(b)).status).toBe(202);
    const limited = await send(a);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    expect((await send(b)).status).toBe(429);
  });
});
