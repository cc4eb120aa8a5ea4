import { afterAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { CLOSED } from "../../src/delivery/circuit.ts";
import { adopt, sharedState } from "../../src/delivery/shared-circuit.ts";
import { createWorker } from "../../src/delivery/worker.ts";
import { newId } from "../../src/ids.ts";
import { silentLogger } from "../support/log.ts";
import { openPostgresStore, type PostgresStore } from "../../src/store/postgres/store.ts";
import { configWith, destination } from "../support/destination.ts";
import { postgresEnabled, testSchema } from "../support/postgres.ts";
import { startReceiver } from "../support/receiver.ts";

const T = Date.UTC(2026, 10, 23, 6, 0, 0);

describe("a circuit shared between instances", () => {
  const open = { ...CLOSED, status: "open" as const, consecutiveFailures: 5, openedAt: T, probeDelayMs: 30_000, nextProbeAt: T + 30_000 };

  test("a probing circuit is open to the others; failure counts stay local", () => {
    expect(sharedState("crm", { ...open, status: "half_open", probeId: "dlv_1" }, T + 1, "a")).toEqual({
      destination: "crm", paused: false, circuit: "open", openedAt: T, nextProbeAt: T + 30_000, probeDelayMs: 30_000, updatedAt: T + 1, updatedBy: "a",
    });
  });

  test("adopting: a pause, an opening, a later probe time, a close; nothing new keeps the same object", () => {
    const paused = sharedState("crm", { ...CLOSED, paused: true }, T, "a");
    expect(adopt(CLOSED, paused)).toEqual({ ...CLOSED, paused: true });
    expect(adopt(CLOSED, sharedState("crm", open, T, "a"))).toEqual({ ...open, consecutiveFailures: 0 });
    const later = sharedState("crm", { ...open, nextProbeAt: T + 90_000, probeDelayMs: 60_000 }, T, "a");
    expect(adopt(open, later)).toMatchObject({ status: "open", nextProbeAt: T + 90_000, probeDelayMs: 60_000, consecutiveFailures: 5 });
    expect(adopt({ ...open, status: "half_open", probeId: "dlv_1" }, sharedState("crm", CLOSED, T, "a"))).toEqual(CLOSED);
    expect(adopt(open, sharedState("crm", open, T, "a"))).toBe(open);
  });
});

(postgresEnabled() ? describe : describe.skip)("workers on one PostgreSQL", () => {
  const schema = testSchema("shared_circuit");
  const stores: PostgresStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    await schema.drop();
  });

  test("a pause on one instance stops the others; a resume there lets them send again", async () => {
    const receiver = startReceiver();
    const clock = new ManualClock(T);
    const [a, b] = await Promise.all(["a", "b"].map((id) => openPostgresStore({ url: schema.url, pool: 2, instanceId: id })));
    stores.push(a, b);
    const config = configWith("", [destination("crm", `${receiver.url}/hook`)]);
    const [wa, wb] = [a, b].map((store) => createWorker({ store, config: () => config, clock, log: silentLogger }));
    try {
      expect(wa.pause("crm")).toBe("paused");
      await wa.stop(10); // waits for the shared write
      await wb.syncShared();
      expect(wb.destinationState("crm")).toBe("paused");
      await b.record({ id: newId("evt", T), source: "s", type: "t", receivedAt: T, headers: {}, body: "{}" }, [
        { id: newId("dlv", T), route: "r", destination: "crm", status: "pending", body: "{}", nextAttemptAt: T },
      ]);
      expect(await wb.runOnce()).toBe(0);
      clock.advance(1000);
      expect(wa.resume("crm")).toBe("closed");
      await wa.stop(10);
      await wb.syncShared();
      expect(wb.destinationState("crm")).toBe("closed");
      expect(await wb.runOnce()).toBe(1);
      expect(receiver.received).toHaveLength(1);
      // A pause outlives a restart of the instance that set it.
      clock.advance(1000);
      wb.pause("crm");
      await wb.stop(10);
      const restarted = createWorker({ store: b, config: () => config, clock, log: silentLogger });
      await restarted.syncShared();
      expect(restarted.destinationState("crm")).toBe("paused");
    } finally {
      await wb.stop(10);
      receiver.stop();
    }
  });
});
