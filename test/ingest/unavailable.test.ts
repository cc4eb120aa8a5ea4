// A database that goes away while Relay runs: ingest answers 503 with Retry-After (nothing acknowledged that is not
// stored), health says unhealthy, and both recover by themselves once the database is back.
import { describe, expect, test } from "bun:test";
import { admin, startHarness, TEST_YAML } from "../support/harness.ts";
import { POSTGRES_URL, postgresEnabled, testSchema } from "../support/postgres.ts";
import { tcpProxy } from "../support/tcp-proxy.ts";

(postgresEnabled() ? describe : describe.skip)("PostgreSQL unreachable while serving", () => {
  test("POST /api/webhook answers 503 + Retry-After, then 202 again once the database is back", async () => {
    const schema = testSchema("unavailable");
    const target = new URL(POSTGRES_URL);
    const proxy = tcpProxy(target.hostname, Number(target.port || 5432));
    const url = new URL(schema.url);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port());
    const yaml = TEST_YAML.replace("  path: ./data/relay.db", `  path: ./data/relay.db\n  postgres:\n    url: "${url}"\n    pool: 2`);
    const h = await startHarness(yaml);
    const post = () => h.call("POST", "/api/webhook/crm-url-id", { body: { type: "lead" } });
    try {
      expect((await post()).status).toBe(202);
      proxy.stop();
      const down = await post();
      expect(down.status).toBe(503);
      expect(down.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(down.json).toEqual({ error: "the database is unreachable; try again shortly", code: "database_unreachable" });
      expect((await h.call("GET", "/api/health")).status).toBe(503);
      // The admin API too: a lost database is a 503 to try again, never a 500.
      const listed = await h.call("GET", "/api/events", { headers: admin });
      expect(listed.status).toBe(503);
      expect(listed.headers.get("retry-after")).toMatch(/^\d+$/);
      proxy.start();
      let status = 0;
      for (let i = 0; i < 50 && status !== 202; i++) {
        status = (await post()).status;
        if (status !== 202) await Bun.sleep(100);
      }
      expect(status).toBe(202);
      expect((await h.call("GET", "/api/health")).status).toBe(200);
    } finally {
      proxy.stop();
      await h.stop();
      await schema.drop();
    }
    // The driver backs off reconnecting for up to 1 s per connection; a loaded machine needs more than the default 5 s.
  }, 15_000);
});
