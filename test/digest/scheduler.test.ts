import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ManualClock } from "../../src/clock.ts";
import type { Config, DestinationConfig } from "../../src/config/types.ts";
import { createDigestScheduler, type ClosedWindow, type DigestScheduler } from "../../src/digest/scheduler.ts";
import { nextTick } from "../../src/digest/window.ts";
import { NotFound } from "../../src/errors.ts";
import { silentLogger } from "../support/log.ts";
import { openStore, type SqliteStore as Store } from "../../src/store/store.ts";
import { configWith, destination } from "../support/destination.ts";
import { tempDir } from "../support/tmp.ts";
import { deliveryRow, digestDestination, digestRows, hold, rowsWhere } from "./helpers.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
// 23 November 2026, 06:00 UTC: a tick of "0 6 * * *" in UTC.
const TICK = Date.UTC(2026, 10, 23, 6, 0, 0);
const URL = "http://127.0.0.1:9/unused";

let tmp: ReturnType<typeof tempDir>;
let dbPath: string;
let store: Store;
let clock: ManualClock;
let config: Config;
let closedEvents: ClosedWindow[];
let scheduler: DigestScheduler;

function setup(...dests: DestinationConfig[]) {
  config = configWith(dbPath, dests);
  scheduler = createDigestScheduler({ store, config: () => config, clock, log: silentLogger, onClosed: (c) => closedEvents.push(c) });
  return scheduler;
}

beforeEach(async () => {
  tmp = tempDir();
  dbPath = join(tmp.dir, "relay.db");
  store = openStore(dbPath);
  clock = new ManualClock(TICK - HOUR);
  closedEvents = [];
});
afterEach(async () => {
  scheduler?.stop();
  await store.close();
  tmp.cleanup();
});

const lead = (n: number) => `{"SerialNumber":"L-${n}","Type":"Lead","SessionID":${n}}`;

describe("closing a window", () => {
  test("takes the items created up to the tick, inclusive; a later item waits for the next window", async () => {
    const s = setup(digestDestination("crm", URL));
    const early = await hold(store, "crm", TICK - 23 * HOUR, lead(1));
    const atTick = await hold(store, "crm", TICK, lead(2));
    const late = await hold(store, "crm", TICK + 1, lead(3));
    clock.set(TICK + 5 * MIN);

    const [closed] = await s.close("crm");
    expect(closed).toMatchObject({ destination: "crm", windowStart: TICK - 24 * HOUR, windowEnd: TICK, items: 2 });
    expect(closed.digests).toHaveLength(1);
    const [digest] = closed.digests;
    expect(digest).toMatchObject({ part: 1, parts: 1, items: 2 });

    const sent = deliveryRow(store, digest.deliveryId!);
    expect(sent).toMatchObject({
      status: "pending",
      event_id: null,
      digest_id: digest.id,
      route: "digest",
      event_type: "digest",
      attempts: 0,
      next_attempt_at: TICK + 5 * MIN,
      body: `[${lead(1)},${lead(2)}]`,
    });
    expect([deliveryRow(store, early), deliveryRow(store, atTick)].map((r) => [r.status, r.digest_id])).toEqual([
      ["digested", digest.id],
      ["digested", digest.id],
    ]);
    expect(deliveryRow(store, late)).toMatchObject({ status: "held_for_digest", digest_id: null });
    expect(closedEvents).toHaveLength(1);

    const table = store.digests;
    expect((await table.digestItems(digest.id)).map((i) => i.id)).toEqual([early, atTick]);
    expect(await table.digest(digest.id)).toMatchObject({ destination: "crm", windowEnd: TICK, items: 2, status: "pending", attempts: 0 });
    expect(await table.lastClosedWindowEnd("crm")).toBe(TICK);
  });

  test("closing the same window again writes nothing and returns the digest already made", async () => {
    const s = setup(digestDestination("crm", URL));
    await hold(store, "crm", TICK - HOUR, lead(1));
    clock.set(TICK + MIN);
    const [first] = await s.close("crm");
    await hold(store, "crm", TICK - 1, lead(2)); // committed after the close: belongs to the next digest
    expect(await s.close("crm")).toEqual([]);
    expect(await s.close("crm", TICK)).toEqual([]);

    const again = await store.digests.closeWindow({
      destination: "crm",
      windowStart: TICK - 24 * HOUR,
      windowEnd: TICK,
      maxItems: 1000,
      sendEmpty: false,
      buildBody: () => "[]",
      now: clock.now(),
      newId: () => "dig_should_not_be_used",
    });
    expect(again).toEqual({ created: false, digests: first.digests, items: 0 });
    expect(digestRows(store, "crm")).toHaveLength(1);
    expect(rowsWhere(store, "route = 'digest'")).toHaveLength(1);
    expect(rowsWhere(store, "status = 'held_for_digest'")).toHaveLength(1);
    expect(closedEvents).toHaveLength(1);
  });

  test("a window earlier than one already closed is superseded and writes nothing", async () => {
    setup(digestDestination("crm", URL));
    const table = store.digests;
    const input = (end: number) => ({
      destination: "crm",
      windowStart: end - HOUR,
      windowEnd: end,
      maxItems: 10,
      sendEmpty: true,
      buildBody: (items: string[]) => `[${items.join(",")}]`,
      now: end,
      newId: (p: string) => `${p}_${end}_${Math.random()}`,
    });
    await hold(store, "crm", TICK - 2 * HOUR, lead(1));
    expect((await table.closeWindow(input(TICK))).created).toBe(true);
    await hold(store, "crm", TICK - 2 * HOUR, lead(2));
    expect(await table.closeWindow(input(TICK - HOUR))).toEqual({ created: false, digests: [], items: 0 });
    expect(rowsWhere(store, "status = 'held_for_digest'")).toHaveLength(1);
  });

  test("max_items splits a window into numbered parts, items in created order", async () => {
    const s = setup(digestDestination("crm", URL, { maxItems: 2, body: "envelope" }));
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push(await hold(store, "crm", TICK - 10 * MIN + n, lead(n)));
    clock.set(TICK);
    const [closed] = await s.close("crm");
    expect(closed.items).toBe(5);
    expect(closed.digests.map((d) => [d.part, d.parts, d.items])).toEqual([
      [1, 3, 2],
      [2, 3, 2],
      [3, 3, 1],
    ]);
    const bodies = closed.digests.map((d) => deliveryRow(store, d.deliveryId!).body);
    const window = '"window":{"start":"2026-11-22T06:00:00.000Z","end":"2026-11-23T06:00:00.000Z"}';
    expect(bodies).toEqual([
      `{"event":"digest","destination":"crm",${window},"part":1,"parts":3,"count":2,"items":[${lead(1)},${lead(2)}]}`,
      `{"event":"digest","destination":"crm",${window},"part":2,"parts":3,"count":2,"items":[${lead(3)},${lead(4)}]}`,
      `{"event":"digest","destination":"crm",${window},"part":3,"parts":3,"count":1,"items":[${lead(5)}]}`,
    ]);
    const table = store.digests;
    expect(await Promise.all(closed.digests.map(async (d) => (await table.digestItems(d.id)).map((i) => i.id)))).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    expect(digestRows(store, "crm").map((r) => [r.part, r.parts, r.item_count])).toEqual([
      [1, 3, 2],
      [2, 3, 2],
      [3, 3, 1],
    ]);
    // One close, one wake-up for the worker.
    expect(closedEvents).toHaveLength(1);
  });

  test("send_empty false: an empty window sends nothing but counts as closed", async () => {
    const s = setup(digestDestination("crm", URL, { sendEmpty: false }));
    clock.set(TICK);
    const [closed] = await s.close("crm");
    expect(closed.digests).toEqual([{ id: expect.stringMatching(/^dig_/), deliveryId: null, part: 1, parts: 1, items: 0 }]);
    expect(rowsWhere(store, "route = 'digest'")).toEqual([]);
    expect(closedEvents).toEqual([]);
    expect(await s.close("crm")).toEqual([]);
  });

  test("send_empty true: an empty window sends one empty digest", async () => {
    const s = setup(
      digestDestination("arr", URL, { sendEmpty: true }),
      digestDestination("env", URL, { sendEmpty: true, body: "envelope" }),
    );
    clock.set(TICK);
    const [arr] = await s.close("arr");
    const [env] = await s.close("env");
    expect(deliveryRow(store, arr.digests[0].deliveryId!).body).toBe("[]");
    expect(deliveryRow(store, env.digests[0].deliveryId!).body).toBe(
      '{"event":"digest","destination":"env","window":{"start":"2026-11-22T06:00:00.000Z","end":"2026-11-23T06:00:00.000Z"},"count":0,"items":[]}',
    );
    expect(closedEvents.map((c) => c.destination)).toEqual(["arr", "env"]);
  });

  test("an unknown destination, or one without a digest, is NotFound", async () => {
    const s = setup(digestDestination("crm", URL), destination("plain", URL));
    await expect(s.close("nope")).rejects.toThrow(NotFound);
    await expect(s.close("plain")).rejects.toThrow(NotFound);
    expect(() => s.flush("plain")).toThrow('destination "plain" has no digest');
  });
});

describe("exactly once under concurrent ingest", () => {
  test("records committed between closes each land in exactly one digest, none lost", async () => {
    const s = setup(digestDestination("crm", URL, { cron: "*/10 * * * *", maxItems: 7 }));
    clock.set(TICK);
    const pending: Array<Promise<string>> = [];
    const bodies = new Map<string, string>();
    let n = 0;
    for (let step = 0; step < 120; step++) {
      clock.advance(MIN);
      // Created now, committed on a later turn of the event loop: a close can run in between.
      for (let k = 0; k < 3; k++) {
        const body = lead(++n);
        const p = hold(store, "crm", clock.now(), body);
        p.then((id) => bodies.set(id, body));
        pending.push(p);
      }
      if (step % 10 === 9) await s.close("crm");
      if (step % 4 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(pending);
    clock.advance(10 * MIN);
    await s.close("crm");

    expect(rowsWhere(store, "status = 'held_for_digest'")).toEqual([]);
    const items = rowsWhere(store, "route = 'leads'");
    expect(items).toHaveLength(360);
    expect(items.every((r) => r.status === "digested" && r.digest_id !== null)).toBe(true);

    // Each digest's body is exactly its items, and every item appears in exactly one body.
    const seen = new Map<string, number>();
    let lateCommits = 0;
    const table = store.digests;
    for (const d of digestRows(store, "crm")) {
      const its = await table.digestItems(d.id);
      expect(its).toHaveLength(d.item_count);
      // Created inside an earlier window but committed after it closed: carried into this one.
      lateCommits += its.filter((i) => i.createdAt <= d.window_start).length;
      if (d.delivery_id === null) continue;
      expect(deliveryRow(store, d.delivery_id).body).toBe(`[${its.map((i) => bodies.get(i.id)).join(",")}]`);
      for (const i of its) seen.set(i.id, (seen.get(i.id) ?? 0) + 1);
    }
    expect(seen.size).toBe(360);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect(lateCommits).toBeGreaterThan(0);
  });

  test("a second process writing items while this one flushes: every item in exactly one digest", async () => {
    const realClock = { now: () => Date.now() };
    config = configWith(dbPath, [digestDestination("crm", URL, { maxItems: 50 })]);
    scheduler = createDigestScheduler({ store, config: () => config, clock: realClock, log: silentLogger });
    const total = 300;
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "held-writer.ts"), dbPath, "crm", String(total)], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    // The child writes until three flushes have taken items out from under it, however busy the machine.
    let flushes = 0;
    while (child.exitCode === null) {
      const got = await scheduler.flush("crm");
      if (got.items > 0 && ++flushes === 3) {
        child.stdin.write("stop\n");
        await child.stdin.end();
      }
      await Bun.sleep(1);
    }
    expect(await child.exited).toBe(0);
    const written = (await new Response(child.stdout).text()).trim().split("\n");
    expect(written.length).toBeGreaterThanOrEqual(total);
    await scheduler.flush("crm");
    expect(flushes).toBeGreaterThan(2);

    const table = store.digests;
    const seen = new Map<string, number>();
    for (const d of digestRows(store, "crm")) {
      const its = await table.digestItems(d.id);
      const body = JSON.parse(deliveryRow(store, d.delivery_id!).body) as Array<{ n: number }>;
      expect(body.map((b) => b.n)).toEqual(its.map((i) => JSON.parse(i.body).n));
      for (const i of its) seen.set(i.id, (seen.get(i.id) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([...written].sort());
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect(rowsWhere(store, "status = 'held_for_digest'")).toEqual([]);
  });
});

describe("catch-up after a restart", () => {
  test("windows missed while down are closed once, in order, each with its own items", async () => {
    const berlin = digestDestination("crm", URL, { timezone: "Europe/Berlin" });
    setup(berlin);
    // Friday 27 March 2026 before 06:00 Berlin; Relay then stops until Monday 30 March 09:00 (after the DST change).
    clock.set(Date.UTC(2026, 2, 27, 4, 0, 0));
    const friday = await hold(store, "crm", clock.now(), lead(1));
    const s0 = scheduler;
    clock.set(Date.UTC(2026, 2, 27, 5, 0, 0));
    expect((await s0.close("crm")).map((c) => c.windowEnd)).toEqual([Date.UTC(2026, 2, 27, 5, 0, 0)]);
    const saturday = await hold(store, "crm", Date.UTC(2026, 2, 28, 12, 0, 0), lead(2));
    const sunday = await hold(store, "crm", Date.UTC(2026, 2, 29, 3, 59, 59), lead(3));
    const monday = await hold(store, "crm", Date.UTC(2026, 2, 30, 3, 0, 0), lead(4));
    const later = await hold(store, "crm", Date.UTC(2026, 2, 30, 6, 0, 0), lead(5));
    s0.stop();
    await store.close();

    clock.set(Date.UTC(2026, 2, 30, 7, 0, 0));
    store = openStore(dbPath);
    closedEvents = [];
    const s1 = setup(berlin);
    const caught = await s1.catchUp();
    expect(caught.map((c) => [new Date(c.windowStart).toISOString(), new Date(c.windowEnd).toISOString(), c.items])).toEqual([
      ["2026-03-27T05:00:00.000Z", "2026-03-28T05:00:00.000Z", 0],
      ["2026-03-28T05:00:00.000Z", "2026-03-29T04:00:00.000Z", 2],
      ["2026-03-29T04:00:00.000Z", "2026-03-30T04:00:00.000Z", 1],
    ]);
    const table = store.digests;
    const itemsOf = async (c: ClosedWindow) => (await Promise.all(c.digests.map(async (d) => (await table.digestItems(d.id)).map((i) => i.id)))).flat();
    expect(await Promise.all(caught.map(itemsOf))).toEqual([[], [saturday, sunday], [monday]]);
    expect(deliveryRow(store, friday).status).toBe("digested");
    expect(deliveryRow(store, later).status).toBe("held_for_digest");
    // Saturday's window was empty and send_empty is false: two digests went out, two wake-ups.
    expect(rowsWhere(store, "route = 'digest'")).toHaveLength(3);
    expect(closedEvents).toHaveLength(2);

    expect(await s1.catchUp()).toEqual([]);
    s1.stop();
    await store.close();
    store = openStore(dbPath);
    expect(await setup(berlin).catchUp()).toEqual([]);
    expect(digestRows(store, "crm")).toHaveLength(4);
  });

  test("a destination that never closed a window starts from its oldest held item", async () => {
    setup(digestDestination("crm", URL));
    await hold(store, "crm", TICK - 30 * HOUR, lead(1));
    await hold(store, "crm", TICK - 2 * HOUR, lead(2));
    clock.set(TICK + HOUR);
    const caught = await scheduler.catchUp();
    expect(caught.map((c) => [c.windowEnd, c.items])).toEqual([
      [TICK - 24 * HOUR, 1],
      [TICK, 1],
    ]);
    expect(await scheduler.catchUp()).toEqual([]);
  });

  test("nothing held and nothing ever closed: catch-up sends nothing, even with send_empty", async () => {
    setup(digestDestination("crm", URL, { sendEmpty: true }));
    clock.set(TICK + HOUR);
    expect(await scheduler.catchUp()).toEqual([]);
    expect(digestRows(store, "crm")).toEqual([]);
    // The scheduled job at the tick does close it, and sends the empty digest.
    expect((await scheduler.close("crm")).map((c) => c.digests[0].items)).toEqual([0]);
    expect(rowsWhere(store, "route = 'digest'")).toHaveLength(1);
  });

  test("a long outage closes at most max windows; older items merge into the first of them", async () => {
    config = configWith(dbPath, [digestDestination("crm", URL, { cron: "0 * * * *" })]);
    scheduler = createDigestScheduler({ store, config: () => config, clock, log: silentLogger, maxMissedWindows: 3 });
    clock.set(TICK);
    await scheduler.close("crm");
    await hold(store, "crm", TICK + 30 * MIN, lead(1));
    await hold(store, "crm", TICK + 10 * HOUR - 1, lead(2));
    clock.set(TICK + 10 * HOUR);
    const caught = await scheduler.catchUp();
    expect(caught.map((c) => [c.windowEnd - TICK, c.items])).toEqual([
      [8 * HOUR, 1],
      [9 * HOUR, 0],
      [10 * HOUR, 1],
    ]);
  });
});

describe("flush", () => {
  test("sends everything held up to now; the next scheduled window takes only what came after", async () => {
    const s = setup(digestDestination("crm", URL, { maxItems: 2 }));
    clock.set(TICK - 30 * MIN);
    await s.close("crm"); // yesterday's tick, nothing held
    for (let n = 1; n <= 3; n++) await hold(store, "crm", TICK - 20 * MIN + n, lead(n));
    clock.set(TICK - 10 * MIN);
    const flushed = await s.flush("crm");
    expect(flushed.items).toBe(3);
    expect(flushed.digests.map((d) => [d.part, d.parts, d.items])).toEqual([
      [1, 2, 2],
      [2, 2, 1],
    ]);
    expect(await store.digests.digest(flushed.digests[0].id)).toMatchObject({ windowEnd: TICK - 10 * MIN, windowStart: TICK - 24 * HOUR });
    expect(closedEvents).toHaveLength(1);

    expect(await s.flush("crm")).toEqual({ digests: [], items: 0 });
    expect(digestRows(store, "crm")).toHaveLength(3);

    await hold(store, "crm", TICK - 5 * MIN, lead(4));
    clock.set(TICK);
    const [next] = await s.close("crm");
    expect([next.windowStart, next.windowEnd, next.items]).toEqual([TICK - 10 * MIN, TICK, 1]);
  });

  test("a flush after a missed tick closes that window as scheduled, then the rest", async () => {
    const s = setup(digestDestination("crm", URL));
    await hold(store, "crm", TICK - HOUR, lead(1));
    await hold(store, "crm", TICK + HOUR, lead(2));
    clock.set(TICK + 2 * HOUR);
    const flushed = await s.flush("crm");
    expect(flushed.items).toBe(2);
    expect(digestRows(store, "crm").map((r) => [r.window_end, r.item_count])).toEqual([
      [TICK, 1],
      [TICK + 2 * HOUR, 1],
    ]);
  });
});

describe("jobs", () => {
  test("start makes one job per digest destination in its timezone; reload rebuilds them; stop ends them", async () => {
    const s = setup(digestDestination("crm", URL), digestDestination("de", URL, { timezone: "Europe/Berlin", cron: "30 2 * * *" }), destination("plain", URL));
    expect(s.jobs()).toEqual([]);
    s.start();
    const now = Date.now();
    const jobs = s.jobs();
    expect(jobs.map((j) => [j.destination, j.cron, j.timezone])).toEqual([
      ["crm", "0 6 * * *", "UTC"],
      ["de", "30 2 * * *", "Europe/Berlin"],
    ]);
    expect(jobs[0].nextRunAt).toBe(nextTick("0 6 * * *", "UTC", now));
    expect(jobs[1].nextRunAt).toBe(nextTick("30 2 * * *", "Europe/Berlin", now));

    config = configWith(dbPath, [digestDestination("crm", URL, { cron: "15 7 * * *", timezone: "America/New_York" }), destination("de", URL)]);
    s.reload();
    expect(s.jobs().map((j) => [j.destination, j.cron, j.timezone, j.nextRunAt])).toEqual([
      ["crm", "15 7 * * *", "America/New_York", nextTick("15 7 * * *", "America/New_York", Date.now())],
    ]);
    s.stop();
    expect(s.jobs()).toEqual([]);
  });

  test("a firing job closes its window and wakes the worker", async () => {
    const realClock = { now: () => Date.now() };
    config = configWith(dbPath, [digestDestination("crm", URL, { cron: "* * * * * *" })]);
    let woken!: () => void;
    const closed = new Promise<ClosedWindow>((resolve) => (woken = () => resolve(lastClosed!)));
    let lastClosed: ClosedWindow | undefined;
    scheduler = createDigestScheduler({
      store,
      config: () => config,
      clock: realClock,
      log: silentLogger,
      onClosed: (c) => {
        lastClosed = c;
        woken();
      },
    });
    const id = await hold(store, "crm", Date.now() - 5_000, lead(1));
    scheduler.start();
    const got = await Promise.race([closed, Bun.sleep(5_000).then(() => null)]);
    expect(got).not.toBeNull();
    expect(got!.items).toBe(1);
    expect(got!.windowEnd % 1000).toBe(0);
    expect(deliveryRow(store, id)).toMatchObject({ status: "digested", digest_id: got!.digests[0].id });
  });
});
