import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { ManualClock } from "../../src/clock.ts";
import type { DestinationConfig } from "../../src/config/types.ts";
import { createWorker, type Worker } from "../../src/delivery/worker.ts";
import { newId } from "../../src/ids.ts";
import { silentLogger } from "../support/log.ts";
import { openStore, type SqliteStore as Store } from "../../src/store/store.ts";
import { configWith, destination } from "../support/destination.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";

const T = Date.UTC(2026, 10, 23, 6, 0, 0);
let tmp: ReturnType<typeof tempDir>;
let store: Store;
let clock: ManualClock;
let receiver: Receiver;
let worker: Worker | undefined;

beforeEach(async () => {
  tmp = tempDir();
  store = openStore(join(tmp.dir, "relay.db"));
  clock = new ManualClock(T);
  receiver = startReceiver();
});
afterEach(async () => {
  await worker?.stop(100);
  worker = undefined;
  receiver.stop();
  await store.close();
  tmp.cleanup();
});

function workerFor(...dests: DestinationConfig[]) {
  const config = configWith(join(tmp.dir, "relay.db"), dests);
  worker = createWorker({ store, config: () => config, clock, log: silentLogger, random: () => 0.5 });
  return worker;
}

async function enqueue(dest: string, body = '{"event":"lead","data":{"n":1}}', n = 1): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = newId("dlv", clock.now());
    ids.push(id);
    await store.record(
      { id: newId("evt", clock.now()), source: "s", type: "lead.created", receivedAt: clock.now(), headers: {}, body },
      [{ id, route: "r", destination: dest, status: "pending", body, nextAttemptAt: clock.now() }],
    );
  }
  return ids;
}

function row(id: string) {
  return store.sqlite.query("SELECT status, attempts, next_attempt_at AS next, last_error AS error FROM deliveries WHERE id = $id").get({ id }) as {
    status: string;
    attempts: number;
    next: number;
    error: string | null;
  };
}

function attemptsOf(id: string) {
  return store.sqlite
    .query("SELECT status_code AS status, response, error, duration_ms AS ms FROM attempts WHERE delivery_id = $id ORDER BY id")
    .all({ id }) as Array<{ status: number | null; response: string | null; error: string | null; ms: number }>;
}

describe("a delivery attempt", () => {
  test("sends the stored body byte for byte with the delivery id and configured headers", async () => {
    const body = '{"event":"lead.created","timestamp":"2026-11-23T06:00:00.000Z","data":{"name":"Zoë"}}';
    const w = workerFor(destination("crm", `${receiver.url}/hook`, { headers: { "X-Api-Token": "t0k" }, eventHeader: "X-Aficial-Event" }));
    const [id] = await enqueue("crm", body);
    await w.runOnce();
    expect(receiver.received).toHaveLength(1);
    const got = receiver.received[0];
    expect(got.path).toBe("/hook");
    expect(got.body).toBe(body);
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["x-relay-delivery-id"]).toBe(id);
    expect(got.headers["x-api-token"]).toBe("t0k");
    expect(got.headers["x-aficial-event"]).toBe("lead.created");
    expect(got.headers["user-agent"]).toBe("Relay/test");
    expect(row(id)).toMatchObject({ status: "delivered", attempts: 1, error: null });
    expect(attemptsOf(id)).toEqual([{ status: 200, response: "ok", error: null, ms: expect.any(Number) }]);
  });

  test("the exact acknowledgment string is accepted", async () => {
    receiver.respondWith(() => new Response('{"status":"success"}'));
    const w = workerFor(destination("crm", receiver.url, { ack: { statuses: [[200, 299]], bodies: ['{"status":"success"}'] } }));
    const [id] = await enqueue("crm");
    await w.runOnce();
    expect(row(id).status).toBe("delivered");
  });

  test("a 200 with the wrong case is a failure, retried one and three minutes later, then dead", async () => {
    receiver.respondWith(() => new Response('{"status":"Success"}'));
    const w = workerFor(
      destination("crm", receiver.url, {
        ack: { statuses: [[200, 299]], bodies: ['{"status":"success"}'] },
        retry: { kind: "schedule", delaysMs: [60_000, 180_000] },
      }),
    );
    const [id] = await enqueue("crm");
    await w.runOnce();
    expect(row(id)).toMatchObject({ status: "pending", attempts: 1 });
    expect(row(id).error).toContain("is not an expected acknowledgment");
    const firstRetry = row(id).next;
    expect(firstRetry - T).toBeGreaterThanOrEqual(60_000);
    expect(firstRetry - T).toBeLessThan(61_000);

    clock.set(firstRetry - 1);
    expect(await w.runOnce()).toBe(0);
    clock.set(firstRetry);
    expect(await w.runOnce()).toBe(1);
    const secondRetry = row(id).next;
    expect(secondRetry - firstRetry).toBeGreaterThanOrEqual(180_000);
    expect(secondRetry - firstRetry).toBeLessThan(181_000);

    clock.set(secondRetry);
    await w.runOnce();
    expect(row(id)).toMatchObject({ status: "dead", attempts: 3 });
    expect(receiver.received).toHaveLength(3);
    const logged = attemptsOf(id);
    expect(logged.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(logged.every((a) => a.response === '{"status":"Success"}')).toBe(true);

    clock.advance(24 * 3600_000);
    expect(await w.runOnce()).toBe(0);
  });

  test("a receiver that never answers times out and is retried", async () => {
    receiver.respondWith(() => new Promise<Response>(() => {}));
    const w = workerFor(destination("slow", receiver.url, { timeoutMs: 200 }));
    const [id] = await enqueue("slow");
    await w.runOnce();
    expect(row(id)).toMatchObject({ status: "pending", attempts: 1 });
    expect(attemptsOf(id)[0]).toMatchObject({ status: null, error: "timed out after 200 ms" });
  });

  test("a redirect is not followed and counts as a failure", async () => {
    receiver.respondWith((r) => (r.path === "/hook" ? new Response(null, { status: 302, headers: { location: "/elsewhere" } }) : new Response("ok")));
    const w = workerFor(destination("moved", `${receiver.url}/hook`));
    const [id] = await enqueue("moved");
    await w.runOnce();
    expect(receiver.received.map((r) => r.path)).toEqual(["/hook"]);
    expect(row(id).status).toBe("pending");
    expect(attemptsOf(id)[0]).toMatchObject({ status: 302, error: "status 302 is not an acknowledgment" });
  });

  test("429 with Retry-After waits at least that long", async () => {
    receiver.respondWith(() => new Response("slow down", { status: 429, headers: { "retry-after": "600" } }));
    const w = workerFor(destination("limited", receiver.url, { retry: { kind: "schedule", delaysMs: [5_000] } }));
    const [id] = await enqueue("limited");
    await w.runOnce();
    expect(row(id).next - T).toBeGreaterThanOrEqual(600_000);
    expect(row(id).next - T).toBeLessThan(601_000);
  });

  test("a refused connection is recorded as the attempt's error", async () => {
    const gone = startReceiver();
    const url = gone.url;
    gone.stop();
    const w = workerFor(destination("down", url, { retry: { kind: "schedule", delaysMs: [] } }));
    const [id] = await enqueue("down");
    await w.runOnce();
    expect(row(id).status).toBe("dead");
    expect(attemptsOf(id)[0].status).toBeNull();
    expect(attemptsOf(id)[0].error).toMatch(/^(ECONNREFUSED|ConnectionRefused)\b/);
    expect(attemptsOf(id)[0].error).not.toMatch(/^(\w+): \1/);
  });
});

describe("the running worker", () => {
  test("is woken by a commit instead of waiting for its next poll", async () => {
    const config = configWith(join(tmp.dir, "relay.db"), [destination("crm", receiver.url)]);
    // A one-hour idle sleep: only the wake-up on commit can deliver within the test.
    worker = createWorker({ store, config: () => config, clock: { now: () => Date.now() }, log: silentLogger, idleMs: 3_600_000 });
    store.onCommit(() => worker!.wake());
    worker.start();
    await new Promise((r) => setTimeout(r, 20));
    await enqueue("crm");
    await receiver.waitFor(1, 5_000);
    expect(receiver.received).toHaveLength(1);
  });

  test("never exceeds a destination's concurrency cap", async () => {
    let open = 0;
    let peak = 0;
    receiver.respondWith(async () => {
      open++;
      peak = Math.max(peak, open);
      await new Promise((r) => setTimeout(r, 30));
      open--;
      return new Response("ok");
    });
    const config = configWith(join(tmp.dir, "relay.db"), [destination("crm", receiver.url, { concurrency: 2 })]);
    worker = createWorker({ store, config: () => config, clock: { now: () => Date.now() }, log: silentLogger, idleMs: 50 });
    store.onCommit(() => worker!.wake());
    const ids = await enqueue("crm", "{}", 8);
    worker.start();
    await receiver.waitFor(8, 10_000);
    expect(peak).toBe(2);
    await worker.stop(1_000);
    worker = undefined;
    // Claimed ahead in batches, yet each delivery went out exactly once.
    expect(receiver.received.map((r) => r.headers["x-relay-delivery-id"]).sort()).toEqual([...ids].sort());
    expect(ids.map((id) => row(id).status)).toEqual(ids.map(() => "delivered"));
  });

  test("finished attempts refill the queue themselves: a backlog drains without waiting for the loop's timers", async () => {
    const config = configWith(join(tmp.dir, "relay.db"), [destination("crm", receiver.url, { concurrency: 2 })]);
    // Loop timers far longer than the test: only completions can keep the slots busy.
    worker = createWorker({ store, config: () => config, clock: { now: () => Date.now() }, log: silentLogger, idleMs: 60_000, batchMs: 60_000 });
    const ids = await enqueue("crm", "{}", 30);
    worker.start();
    await receiver.waitFor(30, 5_000);
    expect(receiver.received.map((r) => r.headers["x-relay-delivery-id"]).sort()).toEqual([...ids].sort());
  });

  test("a destination paused while its claim is with the writer gets that batch back, unsent", async () => {
    const config = configWith(join(tmp.dir, "relay.db"), [destination("crm", receiver.url, { concurrency: 2 })]);
    worker = createWorker({ store, config: () => config, clock: { now: () => Date.now() }, log: silentLogger, idleMs: 50 });
    worker.start();
    // Another connection takes the write lock and adds three due deliveries: the writer thread sits on the claim
    // that follows until the lock is let go, and the destination is paused meanwhile.
    const other = new Database(join(tmp.dir, "relay.db"), { strict: true });
    other.exec("PRAGMA busy_timeout = 2000");
    other.exec("BEGIN IMMEDIATE");
    const now = Date.now();
    const eventId = newId("evt", now);
    other.query("INSERT INTO events (id, source, type, received_at, headers, body) VALUES (?, 's', 't', ?, '{}', '{}')").run(eventId, now);
    const ids = [newId("dlv", now), newId("dlv", now), newId("dlv", now)];
    for (const id of ids) {
      other
        .query(
          `INSERT INTO deliveries (id, event_id, route, destination, event_type, status, body, attempts, next_attempt_at, created_at)
           VALUES (?, ?, 'r', 'crm', 't', 'pending', '{}', 0, ?, ?)`,
        )
        .run(id, eventId, now, now);
    }
    worker.wake();
    await new Promise((r) => setTimeout(r, 50));
    worker.pause("crm");
    other.exec("COMMIT");
    other.close();
    // The writer answers in order: the first no-op write comes back after the claim (whose answer sends the
    // release), the second after that release. Back in the outbox while the worker still runs, not only at stop.
    await store.releaseExpiredLeases(0);
    await store.releaseExpiredLeases(0);
    expect(ids.map((id) => row(id).status)).toEqual(["pending", "pending", "pending"]);
    expect(receiver.received).toHaveLength(0);
  });

  test("stopping gives claimed but unsent deliveries back to the outbox", async () => {
    receiver.respondWith(() => new Promise<Response>(() => {}));
    const config = configWith(join(tmp.dir, "relay.db"), [destination("crm", receiver.url, { concurrency: 1, timeoutMs: 60_000 })]);
    worker = createWorker({ store, config: () => config, clock: { now: () => Date.now() }, log: silentLogger, idleMs: 50 });
    const ids = await enqueue("crm", "{}", 3);
    worker.start();
    await receiver.waitFor(1, 5_000);
    await worker.stop(10);
    worker = undefined;
    const statuses = ids.map((id) => row(id).status);
    // One attempt is still hanging (its lease returns it at the next start); the two queued ones are pending again.
    expect(statuses.filter((st) => st === "pending")).toHaveLength(2);
    expect(receiver.received).toHaveLength(1);
  });

  test("one destination failing slowly does not hold back another", async () => {
    const slow = startReceiver(() => new Promise<Response>(() => {}));
    const config = configWith(join(tmp.dir, "relay.db"), [
      destination("down", slow.url, { timeoutMs: 60_000, concurrency: 1 }),
      destination("up", receiver.url),
    ]);
    worker = createWorker({ store, config: () => config, clock: { now: () => Date.now() }, log: silentLogger, idleMs: 50 });
    store.onCommit(() => worker!.wake());
    worker.start();
    await enqueue("down", "{}", 3);
    await enqueue("up", "{}", 3);
    await receiver.waitFor(3, 5_000);
    expect(slow.received).toHaveLength(1);
    await worker.stop(10);
    worker = undefined;
    slow.stop();
  });
});
