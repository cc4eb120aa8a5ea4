import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ManualClock } from "../../src/clock.ts";
import type { Config } from "../../src/config/types.ts";
import { newId } from "../../src/ids.ts";
import { createLogger } from "../../src/log.ts";
import { createRetention } from "../../src/ops/retention.ts";
import { openStore, type SqliteStore as Store } from "../../src/store/store.ts";
import { configWith } from "../support/destination.ts";
import { tempDir } from "../support/tmp.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const OLD = NOW - 40 * DAY;

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let config: Config;
let lines: string[];
beforeEach(async () => {
  tmp = tempDir();
  store = openStore(join(tmp.dir, "relay.db"));
  config = configWith(join(tmp.dir, "relay.db"), []);
  lines = [];
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

const retention = (batchSize?: number) =>
  createRetention({ store, config: () => config, clock: new ManualClock(NOW), log: createLogger((l) => lines.push(l)), batchSize });

type Fate = "delivered" | "dead" | "retry" | "held" | "untouched";

/** An event received at `at` with one delivery per fate, each brought there through the real outbox verbs. */
async function event(at: number, fates: Fate[]): Promise<string> {
  const id = newId("evt", at);
  const deliveries = fates.map((fate, i) => ({
    id: newId("dlv", at),
    route: "r",
    // A destination of its own, so the claim below takes exactly this row.
    destination: fate === "held" ? "digest" : `dest-${id}-${i}`,
    status: fate === "held" ? ("held_for_digest" as const) : ("pending" as const),
    body: "{}",
    nextAttemptAt: at,
  }));
  await store.record({ id, source: "s", type: "t", receivedAt: at, headers: {}, body: "{}" }, deliveries);
  for (const [i, d] of deliveries.entries()) await settle(d.destination, d.id, fates[i], at);
  return id;
}

async function settle(destination: string, deliveryId: string, fate: Fate, at: number): Promise<void> {
  if (fate === "held" || fate === "untouched") return;
  const [claimed] = await store.claim(destination, 1, at, 60_000);
  expect(claimed.id).toBe(deliveryId);
  const attempt = { startedAt: at, durationMs: 5, statusCode: fate === "delivered" ? 200 : 500, response: "", error: null };
  if (fate === "delivered") await store.settle([{ deliveryId, destination, attempt, outcome: "delivered", at: at + 5 }]);
  else if (fate === "dead") await store.settle([{ deliveryId, destination, attempt, outcome: "dead", error: "gone" }]);
  else await store.settle([{ deliveryId, destination, attempt, outcome: "retry", nextAttemptAt: at + 60_000, error: "later" }]);
}

const count = (table: string) => (store.sqlite.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const eventIds = () => (store.sqlite.query("SELECT id FROM events ORDER BY id").all() as Array<{ id: string }>).map((r) => r.id);

describe("purge", () => {
  test("removes old finished events with their deliveries and attempts; keeps dead, unfinished and recent ones", async () => {
    const delivered = await event(OLD, ["delivered", "delivered"]);
    const noRoute = await event(OLD + 1, []);
    const partlyDead = await event(OLD + 2, ["delivered", "dead"]);
    const retrying = await event(OLD + 3, ["retry"]);
    const untouched = await event(OLD + 4, ["untouched"]);
    const held = await event(OLD + 5, ["held"]);
    const recent = await event(NOW - DAY, ["delivered"]);
    const justInside = await event(NOW - 30 * DAY, ["delivered"]);
    const justOutside = await event(NOW - 30 * DAY - 1, ["delivered"]);
    expect(count("attempts")).toBe(8);

    const result = await retention().purge(NOW);

    expect(result).toEqual({ events: 3, deliveries: 3, attempts: 3 });
    expect(eventIds()).toEqual([partlyDead, retrying, untouched, held, justInside, recent].sort());
    expect(eventIds()).not.toContain(delivered);
    expect(eventIds()).not.toContain(noRoute);
    expect(eventIds()).not.toContain(justOutside);
    const orphans = store.sqlite
      .query("SELECT count(*) AS n FROM attempts WHERE delivery_id NOT IN (SELECT id FROM deliveries)")
      .get() as { n: number };
    expect(orphans.n).toBe(0);
    // The dead delivery and its sibling stay, attempts included, for an admin to see and retry.
    const kept = store.sqlite.query("SELECT status FROM deliveries WHERE event_id = $id ORDER BY status").all({ id: partlyDead });
    expect(kept).toEqual([{ status: "dead" }, { status: "delivered" }]);
    expect(count("attempts")).toBe(5);
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "retention purge");
    expect(line).toMatchObject({ level: "info", events: 3, deliveries: 3, attempts: 3, before: new Date(NOW - 30 * DAY).toISOString() });
  });

  test("a digested item goes once its digest was delivered, not before", async () => {
    const digests = store.digests;
    const a = await event(OLD, ["held"]);
    const closeAt = (end: number) =>
      digests.closeWindow({
        destination: "digest",
        windowStart: end - DAY,
        windowEnd: end,
        maxItems: 100,
        sendEmpty: false,
        buildBody: (items) => `[${items.join(",")}]`,
        now: end,
        newId: (prefix) => newId(prefix, end),
      });
    const first = await closeAt(OLD + DAY);
    const b = await event(OLD + 2 * DAY, ["held"]);
    await closeAt(OLD + 3 * DAY);
    await settle("digest", first.digests[0].deliveryId!, "delivered", OLD + DAY);

    expect(await retention().purge(NOW)).toMatchObject({ events: 1 });
    expect(eventIds()).toEqual([b]);
    expect(eventIds()).not.toContain(a);
    // Digest deliveries and windows are history the scheduler reads; retention leaves them.
    expect(count("digests")).toBe(2);
  });

  test("works in bounded batches and walks past kept events instead of rescanning them", async () => {
    const keep: string[] = [];
    for (let i = 0; i < 30; i++) {
      const id = await event(OLD + i, [i % 3 === 0 ? "dead" : "delivered"]);
      if (i % 3 === 0) keep.push(id);
    }
    const result = await retention(4).purge(NOW);
    expect(result.events).toBe(20);
    expect(eventIds()).toEqual(keep.sort());
  });

  test("events received in the same millisecond are all visited, whatever the batch size", async () => {
    const keep: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = await event(OLD, [i % 2 === 0 ? "dead" : "delivered"]);
      if (i % 2 === 0) keep.push(id);
    }
    expect((await retention(3).purge(NOW)).events).toBe(6);
    expect(eventIds()).toEqual(keep.sort());
  });

  test("ingest gets the writer between batches", async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => event(OLD + i, [])));
    // An ingest arriving once the first batch is done is committed before the purge is: it went between batches.
    // The purge goes on only after the ingest's group is on its way to the writer (its flush runs on the next turn),
    // so a busy machine cannot reorder them. (Its ack also waits for a WAL sync, so the acks' order proves nothing.)
    let recording: Promise<unknown> | undefined;
    const purgeBatch = store.purgeBatch.bind(store);
    store.purgeBatch = async (...args) => {
      const batch = await purgeBatch(...args);
      if (!recording) {
        recording = store.record({ id: newId("evt", NOW), source: "s", type: "t", receivedAt: NOW, headers: {}, body: "{}" }, []);
        await new Promise((turn) => setImmediate(turn));
      }
      return batch;
    };
    let committedAtPurgeDone = -1;
    await retention(10)
      .purge(NOW)
      .then(() => (committedAtPurgeDone = count("events")));
    await recording;
    expect(committedAtPurgeDone).toBe(1);
    expect(count("events")).toBe(1);
  });

  test("reads storage.retention at each run", async () => {
    await event(NOW - 10 * DAY, ["delivered"]);
    const r = retention();
    expect((await r.purge(NOW)).events).toBe(0);
    config = { ...config, storage: { ...config.storage, retentionMs: 7 * DAY } };
    expect((await r.purge(NOW)).events).toBe(1);
    expect(lines.filter((l) => l.includes("retention purge"))).toHaveLength(1);
  });
});

describe("the hourly job", () => {
  test("is scheduled at half past each hour while started", async () => {
    const r = retention();
    expect(r.nextRunAt()).toBeNull();
    r.start();
    const next = r.nextRunAt()!;
    expect(new Date(next).getUTCMinutes()).toBe(30);
    expect(next - Date.now()).toBeLessThanOrEqual(3_600_000);
    await r.stop();
    expect(r.nextRunAt()).toBeNull();
  });
});

test("the purge walks the events' primary key: no received_at index, no sort, no full scan", async () => {
  const indexes = (store.sqlite.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").all() as Array<{ name: string }>).map((r) => r.name);
  expect(indexes).not.toContain("events_received_at");
  const plan = store.sqlite
    .query("EXPLAIN QUERY PLAN SELECT id FROM events WHERE id < 'evt_1' AND id > 'evt_0' ORDER BY id LIMIT 10")
    .all() as Array<{ detail: string }>;
  const text = plan.map((p) => p.detail).join("\n");
  expect(text).toMatch(/SEARCH events USING (COVERING )?INDEX sqlite_autoindex_events_1 \(id>\? AND id<\?\)/);
  expect(text).not.toContain("TEMP B-TREE");
});

