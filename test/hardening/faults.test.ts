import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { afterFailure, NO_BACKOFF, waitMs } from "../../src/delivery/backoff.ts";
import { createLogger, repeatedError } from "../../src/log.ts";
import { join } from "node:path";
import { systemClock } from "../../src/clock.ts";
import { createWorker } from "../../src/delivery/worker.ts";
import { newId } from "../../src/ids.ts";
import { openStore } from "../../src/store/store.ts";
import { createKeyViaApi, startHarness, type Harness } from "../support/harness.ts";
import { configWith, destination } from "../support/destination.ts";
import { tempDir } from "../support/tmp.ts";

describe("claim back-off", () => {
  test("capped exponential, from 100 ms to 30 s", () => {
    let b = NO_BACKOFF;
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      b = afterFailure(b, 1000);
      waits.push(waitMs(b, 1000));
    }
    expect(waits).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000]);
    expect(waitMs(b, 1000 + 30_000)).toBe(0);
  });
});

test("claims refused by the database are backed off, not retried in a spin", async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "relay.db");
  const store = openStore(path);
  const now = Date.now();
  for (let i = 0; i < 5; i++) {
    await store.record(
      { id: newId("evt", now), source: "s", type: "t", receivedAt: now, headers: {}, body: "{}" },
      [{ id: newId("dlv", now), route: "r", destination: "d", status: "pending", body: "{}", nextAttemptAt: now }],
    );
  }
  // A real SQLite error on every claim, raised inside the writer thread's own statement.
  const other = new Database(path);
  other.exec(`CREATE TRIGGER refuse_claims BEFORE UPDATE OF status ON deliveries WHEN NEW.status = 'in_flight'
              BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END`);
  const lines: any[] = [];
  const config = configWith(path, [destination("d", "http://127.0.0.1:9/")]);
  // The real store, with its claims counted on the way through.
  let claims = 0;
  const counted = { ...store, claim: (...args: Parameters<typeof store.claim>) => (claims++, store.claim(...args)) };
  const worker = createWorker({ store: counted, config: () => config, clock: systemClock, log: createLogger((l) => lines.push(JSON.parse(l)), "debug") });
  worker.start();
  await Bun.sleep(1000);
  await worker.stop(100);
  other.exec("DROP TRIGGER refuse_claims");
  other.close();
  store.close();
  tmp.cleanup();
  // 100 + 200 + 400 ms of back-off fit in one second: a handful of claims, where a spin made thousands.
  expect(claims).toBeGreaterThanOrEqual(2);
  expect(claims).toBeLessThanOrEqual(6);
  expect(lines.filter((l) => l.msg === "claim failed").length).toBe(1);
});

test("a repeated error is written once per interval, with the count of the ones held back", () => {
  const lines: any[] = [];
  let now = 0;
  const error = repeatedError(createLogger((l) => lines.push(JSON.parse(l)), "debug"), () => now, 10_000);
  for (let i = 0; i < 5000; i++) error("claim failed", { error: "database or disk is full" });
  error("claim failed", { error: "another reason" });
  now = 10_000;
  error("claim failed", { error: "database or disk is full" });
  expect(lines.map((l) => [l.error, l.repeated])).toEqual([
    ["database or disk is full", undefined],
    ["another reason", undefined],
    ["database or disk is full", 4999],
  ]);
});

describe("a write lock held by another process", () => {
  let h: Harness | undefined;
  let holder: Database | undefined;
  afterEach(async () => {
    if (holder?.inTransaction) holder.exec("ROLLBACK");
    holder?.close();
    holder = undefined;
    await h?.stop();
    h = undefined;
  });

  const YAML = `
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
  commit_timeout: 1s
storage:
  path: ./data/relay.db
sources:
  keyed:
    id: keyed-1
    require_api_key: true
  open:
    id: open-1
destinations:
  sink: { url: "http://127.0.0.1:9/unused" }
routes:
  - { from: [keyed, open], to: sink }
`;

  test("nothing on the HTTP thread waits for it: key traffic, ingest and health answer in bounded time", async () => {
    h = await startHarness(YAML);
    const base = `http://127.0.0.1:${h.relay.server.port}`;
    const key = await createKeyViaApi(h, { name: "shop", scopes: ["webhook:write"], source: null });
    holder = new Database(h.dbPath);
    holder.exec("PRAGMA busy_timeout = 0");
    holder.exec("BEGIN IMMEDIATE");
    holder.exec("UPDATE api_keys SET name = name");

    const timed = async (path: string, init?: RequestInit) => {
      const t0 = performance.now();
      const res = await fetch(`${base}${path}`, init);
      return { res, ms: performance.now() - t0, json: (await res.json()) as any };
    };
    const post = (path: string, headers: Record<string, string> = {}) =>
      timed(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: '{"type":"t"}' });

    const health = await timed("/api/health");
    expect(health.ms).toBeLessThan(500);

    const [keyed, open, healthDuring] = await Promise.all([
      post("/api/webhook/keyed-1", { "x-api-key": key.key }),
      post("/api/webhook/open-1"),
      Bun.sleep(1500).then(() => timed("/api/health")),
    ]);
    for (const r of [keyed, open]) {
      expect(r.res.status).toBe(503);
      expect(r.res.headers.get("retry-after")).toBe("5");
      expect(r.json).toEqual({ error: "the event could not be stored within 1000 ms; retry later", code: "commit_timeout" });
      expect(r.ms).toBeLessThan(3000);
    }
    expect(healthDuring.ms).toBeLessThan(500);
    expect(healthDuring.res.status).toBe(503);
    expect(healthDuring.json.checks.storage.error).toMatch(/a commit has waited \d+ s for the database/);
    expect(healthDuring.json.checks.writer).toMatchObject({ status: "warn", error: expect.stringContaining("busy") });

    holder.exec("ROLLBACK");
    const after = await post("/api/webhook/keyed-1", { "x-api-key": key.key });
    expect(after.res.status).toBe(202);
    // Recorded in the background once the lock is free.
    const deadline = Date.now() + 5000;
    const used = () => new Database(h!.dbPath, { readonly: true }).query<{ at: number | null }, []>("SELECT last_used_at AS at FROM api_keys").get()!.at;
    while (used() === null && Date.now() < deadline) await Bun.sleep(20);
    expect(used()).not.toBeNull();
    const deadlineHealth = Date.now() + 8000;
    let healthy = await timed("/api/health");
    while (healthy.res.status !== 200 && Date.now() < deadlineHealth) {
      await Bun.sleep(100);
      healthy = await timed("/api/health");
    }
    expect(healthy.res.status).toBe(200);
  }, 30_000);
});
