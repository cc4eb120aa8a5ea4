// Shares of a destination's cap between instances on one outbox: the decisions (share.ts), then two workers on one
// PostgreSQL sending to one receiver that counts what it has in flight.
import { afterAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../src/clock.ts";
import { afterGrant, askNow, grantMs, NO_SHARE, SHORT_GRANT_RETRY_MS, usableSlots } from "../../src/delivery/share.ts";
import { createWorker } from "../../src/delivery/worker.ts";
import { newId } from "../../src/ids.ts";
import { openPostgresStore, type PostgresStore } from "../../src/store/postgres/store.ts";
import { configWith, destination } from "../support/destination.ts";
import { silentLogger } from "../support/log.ts";
import { postgresEnabled, testSchema } from "../support/postgres.ts";
import { startReceiver } from "../support/receiver.ts";

const T = Date.UTC(2026, 11, 1, 6, 0, 0);

describe("a share of a cap", () => {
  const crm = destination("crm", "http://127.0.0.1:1/hook", { concurrency: 4, timeoutMs: 10_000 });

  test("without a grant nothing may start; a grant is usable while an attempt started now ends before it runs out", () => {
    expect(usableSlots(NO_SHARE, crm, T)).toBe(0);
    const share = afterGrant(4, 3, T, crm);
    expect(share).toEqual({ slots: 3, until: T + grantMs(crm), askAt: T + SHORT_GRANT_RETRY_MS, asking: false });
    expect(usableSlots(share, crm, T)).toBe(3);
    expect(usableSlots(share, crm, share.until - crm.timeoutMs - 1)).toBe(3);
    expect(usableSlots(share, crm, share.until - crm.timeoutMs)).toBe(0);
    // A cap lowered by a reload applies at once to what may start.
    expect(usableSlots(share, { ...crm, concurrency: 2 }, T)).toBe(2);
  });

  test("short of the cap it asks for all of it, again only after a while; one ask at a time", () => {
    expect(askNow(NO_SHARE, crm, T)).toBe(4);
    const short = afterGrant(4, 1, T, crm);
    expect(askNow(short, crm, T + SHORT_GRANT_RETRY_MS - 1)).toBeNull();
    expect(askNow(short, crm, T + SHORT_GRANT_RETRY_MS)).toBe(4);
    expect(askNow({ ...short, asking: true }, crm, T + SHORT_GRANT_RETRY_MS)).toBeNull();
    expect(afterGrant(4, 0, T, crm)).toMatchObject({ slots: 0, until: 0 });
  });

  test("a whole share is renewed before it stops being usable, for short and for long timeouts", () => {
    for (const timeoutMs of [1_000, 10_000, 600_000]) {
      const dest = { ...crm, timeoutMs };
      const share = afterGrant(4, 4, T, dest);
      expect(askNow(share, dest, T)).toBeNull();
      // The first moment it asks again, the share is still usable for a good while.
      let at = T;
      while (askNow(share, dest, at) === null) at += 100;
      expect(usableSlots(share, dest, at)).toBe(4);
      expect(usableSlots(share, dest, at + 10_000)).toBe(4);
    }
  });
});

(postgresEnabled() ? describe : describe.skip)("two workers on one PostgreSQL", () => {
  const schema = testSchema("shares");
  const stores: PostgresStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    await schema.drop();
  });

  test("the cap holds in total while both send; a share outlives its first grant; a clean stop gives it back", async () => {
    let inFlight = 0;
    let most = 0;
    const receiver = startReceiver(async () => {
      most = Math.max(most, ++inFlight);
      await Bun.sleep(5);
      inFlight--;
      return new Response("ok");
    });
    const clock = new ManualClock(T);
    const [a, b] = await Promise.all(["a", "b"].map((id) => openPostgresStore({ url: schema.url, pool: 4, instanceId: id })));
    stores.push(a, b);
    const crm = destination("crm", `${receiver.url}/hook`, { concurrency: 3, timeoutMs: 1_000 });
    const config = configWith("", [crm]);
    const record = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await a.record({ id: newId("evt", clock.now()), source: "s", type: "t", receivedAt: clock.now(), headers: {}, body: "{}" }, [
          { id: newId("dlv", clock.now()), route: "r", destination: "crm", status: "pending", body: "{}", nextAttemptAt: clock.now() },
        ]);
      }
    };
    const [wa, wb] = [a, b].map((store) => createWorker({ store, config: () => config, clock, log: silentLogger }));
    try {
      await record(30);
      const sent = await Promise.all([wa.runOnce(), wb.runOnce()]);
      expect(sent[0] + sent[1]).toBe(30);
      expect(receiver.received).toHaveLength(30);
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(3);
      // Long after the first grant ran out, the instance holding a share still sends: it was renewed.
      clock.advance(10 * grantMs(crm));
      await record(6);
      const later = await Promise.all([wa.runOnce(), wb.runOnce()]);
      expect(later[0] + later[1]).toBe(6);
      expect(most).toBeLessThanOrEqual(3);
      // A clean stop gives its share back: the other instance may take the whole cap at once.
      await wa.stop(10);
      await wb.stop(10);
      expect(await b.takeSlots!("crm", 3, 3, clock.now(), clock.now() + 1000)).toBe(3);
    } finally {
      await wa.stop(10);
      await wb.stop(10);
      receiver.stop();
    }
  });
});
