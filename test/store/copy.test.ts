// `relay migrate`: a SQLite store copied into PostgreSQL, resumable, verified by counts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { newId } from "../../src/ids.ts";
import { copySqliteToPostgres } from "../../src/store/copy.ts";
import { openPostgresStore, type PostgresStore } from "../../src/store/postgres/store.ts";
import { openStore, type SqliteStore } from "../../src/store/store.ts";
import { postgresEnabled, testSchema } from "../support/postgres.ts";
import { tempDir } from "../support/tmp.ts";
import { attempt, delivery, event, T } from "./contract/backends.ts";

(postgresEnabled() ? describe : describe.skip)("copying SQLite into PostgreSQL", () => {
  const schema = testSchema("copy");
  const tmp = tempDir();
  let sqlite: SqliteStore;
  let pg: PostgresStore;
  const ids: string[] = [];

  beforeAll(async () => {
    sqlite = openStore(join(tmp.dir, "relay.db"));
    for (let i = 0; i < 25; i++) {
      const rows = [delivery("crm"), delivery("daily", { status: "held_for_digest" })];
      ids.push(rows[0].id);
      await sqlite.record(event({ idempotencyKey: `k${i}` }), rows);
    }
    const claimed = await sqlite.claim("crm", 10, T, 60_000);
    await sqlite.settle(claimed.slice(0, 8).map((d) => ({ deliveryId: d.id, destination: d.destination, attempt: attempt(), outcome: "delivered" as const, at: T })));
    await sqlite.digests.closeWindow({
      destination: "daily", windowStart: T - 1, windowEnd: T + 1, maxItems: 10, sendEmpty: false,
      buildBody: (items) => `[${items.join(",")}]`, now: T + 1, newId: (p) => newId(p, T),
    });
    await sqlite.keys.insert({ id: "k1", name: "shop", secretHash: "ab", scopes: ["admin"], source: null, rateLimitPerMinute: 60, createdAt: T });
    await sqlite.sourceId("shop", () => "src_x", T);
    await sqlite.setFailingSince("crm", T);
    await sqlite.usage.addSourceCounts(new Map([["shop", { received: 25, rejected: 2, lastReceivedAt: T, since: T - 1 }]]));
    pg = await openPostgresStore({ url: schema.url, pool: 2 });
  });
  afterAll(async () => {
    await sqlite.close();
    await pg.close();
    await schema.drop();
    tmp.cleanup();
  });

  test("an interrupted copy resumes; every table ends with the same count; a second run copies nothing", async () => {
    let batches = 0;
    const interrupted = copySqliteToPostgres(sqlite.sqlite, pg.sql, {
      batch: 7,
      progress: (table) => {
        if (table === "deliveries" && ++batches === 3) throw new Error("interrupted");
      },
    });
    await expect(interrupted).rejects.toThrow("interrupted");
    const counts = await copySqliteToPostgres(sqlite.sqlite, pg.sql, { batch: 7 });
    expect(counts.map((c) => [c.table, c.source, c.target])).toEqual([
      ["events", 25, 25],
      ["deliveries", 53, 53],
      ["attempts", 8, 8],
      ["digests", 3, 3],
      ["api_keys", 1, 1],
      ["source_ids", 1, 1],
      ["destination_health", 1, 1],
      ["destination_totals", 1, 1],
      ["source_totals", 1, 1],
    ]);
    expect(counts.find((c) => c.table === "deliveries")!.copied).toBe(53 - 21);
    expect((await copySqliteToPostgres(sqlite.sqlite, pg.sql)).every((c) => c.copied === 0)).toBe(true);
  });

  test("what was copied reads back the same; leases of the stopped Relay are back in line; new attempts get new ids", async () => {
    const e = (await sqlite.admin.listEvents({ limit: 1 })).items[0];
    expect(await pg.admin.getEvent(e.id)).toEqual(await sqlite.admin.getEvent(e.id));
    expect(await pg.outboxDepth()).toEqual({ ...(await sqlite.outboxDepth()), in_flight: 0, pending: (await sqlite.outboxDepth()).pending + 2 });
    expect(await pg.keys.findById("k1")).toEqual(await sqlite.keys.findById("k1"));
    expect(await pg.sourceId("shop", () => "src_new", T)).toBe("src_x");
    expect(await pg.destinationHealth()).toEqual(await sqlite.destinationHealth());
    expect(await pg.usage.sources()).toEqual(await sqlite.usage.sources());
    const totals = await sqlite.usage.destinations();
    expect(totals.get("crm")).toMatchObject({ sent: 8, failed: 0 });
    expect(await pg.usage.destinations()).toEqual(totals);
    const [d] = await pg.claim("crm", 1, T, 1000);
    await pg.settle([{ deliveryId: d.id, destination: d.destination, attempt: attempt(), outcome: "delivered", at: T }]);
    expect((await pg.admin.getDelivery(d.id))!.history.map((h) => h.id)).toEqual([9]);
  });

  test("relay migrate --to copies and reports each table's counts", async () => {
    const target = testSchema("copy_cli");
    writeFileSync(join(tmp.dir, "relay.yaml"), "storage:\n  path: ./relay.db\n");
    const run = async (...args: string[]) => {
      const proc = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "src", "main.ts"), "migrate", ...args, "--config", join(tmp.dir, "relay.yaml")], {
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: await proc.exited, stdout: await new Response(proc.stdout).text(), stderr: await new Response(proc.stderr).text() };
    };
    try {
      const done = await run("--to", target.url);
      expect(done.stderr).toContain("every table matches");
      expect(done.code).toBe(0);
      expect(done.stdout.trim().split("\n").map((l) => l.split("\t")[0] + " " + l.split("\t").at(-1))).toEqual(
        ["events", "deliveries", "attempts", "digests", "api_keys", "source_ids", "destination_health", "destination_totals", "source_totals"].map(
          (t) => `${t} ok`,
        ),
      );
      const bad = await run("--to", "mysql://x@localhost/db");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("not a PostgreSQL URL");
    } finally {
      await target.drop();
    }
  });
});
