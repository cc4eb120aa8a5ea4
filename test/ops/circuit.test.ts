import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ManualClock } from "../../src/clock.ts";
import type { DestinationConfig } from "../../src/config/types.ts";
import * as circuit from "../../src/delivery/circuit.ts";
import { createWorker, type Worker } from "../../src/delivery/worker.ts";
import { newId } from "../../src/ids.ts";
import { createLogger } from "../../src/log.ts";
import { openStore, type SqliteStore as Store } from "../../src/store/store.ts";
import { configWith, destination } from "../support/destination.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";

const T = Date.UTC(2026, 4, 4, 8, 0, 0);
const SETTINGS = { failures: 5, probeMs: 30_000, maxProbeMs: 600_000 };

describe("circuit decisions (pure)", () => {
  const fail = (c: circuit.Circuit, n: number, at = T) => {
    for (let i = 0; i < n; i++) c = circuit.afterAttempt(c, `dlv_${i}`, "failure", at, SETTINGS);
    return c;
  };

  test("opens on the Nth failure in a row, not before; a success in between starts the count again", async () => {
    expect(circuit.stateOf(fail(circuit.CLOSED, 4))).toBe("closed");
    const opened = fail(circuit.CLOSED, 5);
    expect(circuit.stateOf(opened)).toBe("open");
    expect(opened.nextProbeAt).toBe(T + 30_000);
    const interrupted = fail(circuit.afterAttempt(fail(circuit.CLOSED, 4), "ok", "success", T, SETTINGS), 4);
    expect(circuit.stateOf(interrupted)).toBe("closed");
  });

  test("410 Gone opens at once", async () => {
    expect(circuit.verdictOf("retry", 410)).toBe("gone");
    expect(circuit.verdictOf("dead", 500)).toBe("failure");
    expect(circuit.verdictOf("delivered", 200)).toBe("success");
    expect(circuit.stateOf(circuit.afterAttempt(circuit.CLOSED, "d", "gone", T, SETTINGS))).toBe("open");
  });

  test("allows exactly one probe when due and idle; the probe's failure doubles the wait up to the cap", async () => {
    const settings = { failures: 1, probeMs: 30_000, maxProbeMs: 100_000 };
    let c = circuit.afterAttempt(circuit.CLOSED, "d0", "failure", T, settings);
    expect(circuit.claimAllowance(c, T + 29_999, 0)).toBe(0);
    expect(circuit.claimAllowance(c, T + 30_000, 1)).toBe(0); // a straggler is still in flight
    expect(circuit.claimAllowance(c, T + 30_000, 0)).toBe(1);
    const waits: number[] = [];
    let now = T;
    for (let i = 0; i < 4; i++) {
      now = c.nextProbeAt!;
      c = circuit.probeStarted(c, `probe${i}`);
      expect(circuit.stateOf(c)).toBe("half_open");
      expect(circuit.claimAllowance(c, now + 1e9, 0)).toBe(0);
      // A straggler's failure while the probe is out does not decide anything.
      expect(circuit.afterAttempt(c, "straggler", "failure", now, settings)).toBe(c);
      c = circuit.afterAttempt(c, `probe${i}`, "failure", now, settings);
      waits.push(c.nextProbeAt! - now);
    }
    expect(waits).toEqual([60_000, 100_000, 100_000, 100_000]);
    c = circuit.afterAttempt(circuit.probeStarted(c, "last"), "last", "success", now, settings);
    expect(c).toEqual(circuit.CLOSED);
    expect(circuit.claimAllowance(c, now, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  test("pause overrides every state; resume closes whatever the circuit had decided", async () => {
    const open = fail(circuit.CLOSED, 5);
    const paused = circuit.pause(open);
    expect(circuit.stateOf(paused)).toBe("paused");
    expect(circuit.claimAllowance(paused, T + 1e9, 0)).toBe(0);
    expect(circuit.wakeAt(paused)).toBeNull();
    expect(circuit.stateOf(circuit.afterAttempt(circuit.pause(circuit.CLOSED), "d", "success", T, SETTINGS))).toBe("paused");
    expect(circuit.resume(paused)).toEqual(circuit.CLOSED);
    expect(circuit.resume(open)).toEqual(circuit.CLOSED);
  });

  test("a destination without circuit settings gets the documented defaults", async () => {
    expect(circuit.circuitSettings(destination("x", "http://x"))).toEqual({ failures: 5, probeMs: 30_000, maxProbeMs: 600_000 });
    const custom = { failures: 2, probeMs: 1_000, maxProbeMs: 2_000 };
    expect(circuit.circuitSettings(destination("x", "http://x", { circuit: custom }))).toEqual(custom);
  });
});

describe("the worker and the circuit", () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: ManualClock;
  let receiver: Receiver;
  let worker: Worker;
  let lines: string[];

  beforeEach(async () => {
    tmp = tempDir();
    store = openStore(join(tmp.dir, "relay.db"));
    clock = new ManualClock(T);
    receiver = startReceiver(() => new Response("down", { status: 500 }));
    lines = [];
  });
  afterEach(async () => {
    await worker?.stop(100);
    receiver.stop();
    await store.close();
    tmp.cleanup();
  });

  function workerFor(dest: DestinationConfig, idleMs?: number) {
    const config = configWith(join(tmp.dir, "relay.db"), [dest]);
    worker = createWorker({ store, config: () => config, clock, log: createLogger((l) => lines.push(l), "debug"), random: () => 0.5, idleMs });
    return worker;
  }

  async function enqueue(dest: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = newId("dlv", clock.now());
      ids.push(id);
      const body = JSON.stringify({ n: i });
      await store.record(
        { id: newId("evt", clock.now()), source: "s", type: "t", receivedAt: clock.now(), headers: {}, body },
        [{ id, route: "r", destination: dest, status: "pending", body, nextAttemptAt: clock.now() }],
      );
    }
    return ids;
  }

  const attempts = (id: string) =>
    (store.sqlite.query("SELECT attempts FROM deliveries WHERE id = $id").get({ id }) as { attempts: number }).attempts;
  const status = (id: string) => (store.sqlite.query("SELECT status FROM deliveries WHERE id = $id").get({ id }) as { status: string }).status;
  const messages = () => lines.map((l) => JSON.parse(l).msg as string);

  test("opens after 5 failed attempts in a row, holds the rest without spending their attempts, closes after a good probe", async () => {
    const w = workerFor(destination("crm", receiver.url, { concurrency: 1, retry: { kind: "schedule", delaysMs: [60_000, 60_000, 60_000] } }));
    const ids = await enqueue("crm", 7);

    expect(await w.runOnce()).toBe(5);
    expect(receiver.received).toHaveLength(5);
    expect(w.destinationState("crm")).toBe("open");
    expect(w.circuit("crm").nextProbeAt).toBe(T + 30_000);
    expect(ids.map(attempts)).toEqual([1, 1, 1, 1, 1, 0, 0]);

    clock.set(T + 29_999);
    expect(await w.runOnce()).toBe(0);

    clock.set(T + 30_000);
    expect(await w.runOnce()).toBe(1);
    expect(receiver.received).toHaveLength(6);
    expect(ids.map(attempts)).toEqual([1, 1, 1, 1, 1, 1, 0]);
    expect(w.destinationState("crm")).toBe("open");
    expect(w.circuit("crm").nextProbeAt).toBe(T + 30_000 + 60_000);

    // The first five are due for their retry now, but the circuit keeps them waiting.
    clock.set(T + 60_000);
    expect(await w.runOnce()).toBe(0);
    expect(ids.map(attempts)).toEqual([1, 1, 1, 1, 1, 1, 0]);

    receiver.respondWith(() => new Response("ok"));
    // Past the probe time (T+90s) and past every retry time (failure end + 60s), whatever the attempts took.
    clock.set(T + 120_000);
    expect(await w.runOnce()).toBe(7);
    expect(w.destinationState("crm")).toBe("closed");
    expect(ids.map(status)).toEqual(Array(7).fill("delivered"));
    expect(ids.map(attempts)).toEqual([2, 2, 2, 2, 2, 2, 1]);
    expect(messages().filter((m) => m.startsWith("circuit"))).toEqual([
      "circuit open",
      "circuit probing",
      "circuit open",
      "circuit probing",
      "circuit closed",
    ]);
  });

  test("a probe claims exactly one delivery, whatever the concurrency and the backlog", async () => {
    const w = workerFor(destination("crm", receiver.url, { concurrency: 10, retry: { kind: "schedule", delaysMs: [10_000, 10_000] } }));
    const ids = await enqueue("crm", 10);
    expect(await w.runOnce()).toBe(10); // one burst: all ten were in flight before the fifth failure came back
    expect(w.destinationState("crm")).toBe("open");
    clock.set(T + 30_000);
    expect(await w.runOnce()).toBe(1);
    expect(receiver.received).toHaveLength(11);
    expect(ids.map(attempts).sort()).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
  });

  test("410 Gone opens the circuit at the first answer", async () => {
    receiver.respondWith(() => new Response("gone", { status: 410 }));
    const w = workerFor(destination("crm", receiver.url, { concurrency: 1 }));
    const ids = await enqueue("crm", 3);
    expect(await w.runOnce()).toBe(1);
    expect(w.destinationState("crm")).toBe("open");
    expect(ids.map(attempts)).toEqual([1, 0, 0]);
    const open = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "circuit open");
    expect(open).toMatchObject({ level: "warn", destination: "crm", from: "closed", to: "open", status: 410 });
  });

  test("circuit.failures from the config is honoured", async () => {
    const w = workerFor(destination("crm", receiver.url, { concurrency: 1, circuit: { failures: 2, probeMs: 5_000, maxProbeMs: 5_000 } }));
    await enqueue("crm", 4);
    expect(await w.runOnce()).toBe(2);
    expect(w.circuit("crm").nextProbeAt).toBe(T + 5_000);
  });

  test("a paused destination keeps its deliveries and their attempts for as long as the pause lasts", async () => {
    receiver.respondWith(() => new Response("ok"));
    const w = workerFor(destination("crm", receiver.url));
    expect(w.pause("crm")).toBe("paused");
    const ids = await enqueue("crm", 3);
    expect(await w.runOnce()).toBe(0);
    clock.advance(7 * 86_400_000);
    expect(await w.runOnce()).toBe(0);
    expect(receiver.received).toHaveLength(0);
    expect(ids.map(attempts)).toEqual([0, 0, 0]);
    expect(ids.map(status)).toEqual(["pending", "pending", "pending"]);

    expect(w.resume("crm")).toBe("closed");
    expect(await w.runOnce()).toBe(3);
    expect(ids.map(status)).toEqual(["delivered", "delivered", "delivered"]);
    expect(messages()).toContain("destination paused");
    expect(messages()).toContain("destination resumed");
  });

  test("resume overrides an open circuit: the held deliveries go out before the probe time", async () => {
    const w = workerFor(destination("crm", receiver.url, { concurrency: 1 }));
    await enqueue("crm", 6);
    await w.runOnce();
    expect(w.destinationState("crm")).toBe("open");
    receiver.respondWith(() => new Response("ok"));
    expect(w.resume("crm")).toBe("closed");
    expect(await w.runOnce()).toBe(1); // the sixth; the first five wait for their retry time
    expect(w.destinationState("crm")).toBe("closed");
  });

  test("the running loop sleeps through an open circuit and sends the probe once its time comes", async () => {
    const w = workerFor(destination("crm", receiver.url, { concurrency: 1, retry: { kind: "schedule", delaysMs: [1_000] } }), 20);
    const ids = await enqueue("crm", 6);
    w.start();
    await receiver.waitFor(5);
    await until(() => w.destinationState("crm") === "open");
    const cpu = process.cpuUsage();
    await Bun.sleep(200);
    // An open circuit with due deliveries must not turn the loop into a busy spin.
    expect(process.cpuUsage(cpu).user / 1000).toBeLessThan(100);
    expect(receiver.received).toHaveLength(5);

    receiver.respondWith(() => new Response("ok"));
    clock.set(T + 30_000);
    await until(() => ids.every((id) => status(id) === "delivered"));
    expect(w.destinationState("crm")).toBe("closed");
    expect(receiver.received).toHaveLength(11);
  });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}
