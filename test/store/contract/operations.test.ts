// The contract of what operations keep in the store, on both backends: usage totals, destination health and
// disabling, egress revival, the writer round trip, and retention of discarded deliveries.
import { expect, test } from "bun:test";
import { attempt, delivery, eachBackend, event, T } from "./backends.ts";

eachBackend("operations", (store) => {
  test("destination totals count every settled attempt and outlive the history retention removes", async () => {
    const ok = delivery("crm");
    const failed = delivery("crm");
    const other = delivery("slack");
    const e = event({ id: "evt_0001" });
    await store().record(e, [ok, failed]);
    await store().record(event({ id: "evt_0002" }), [other]);
    expect(await store().usage.destinations()).toEqual(new Map());
    await store().claim("crm", 2, T, 1000);
    await store().claim("slack", 1, T, 1000);
    await store().settle([
      { deliveryId: failed.id, destination: failed.destination, attempt: attempt({ startedAt: T + 1, error: "refused", statusCode: null }), outcome: "retry", nextAttemptAt: T + 100, error: "refused" },
      { deliveryId: ok.id, destination: ok.destination, attempt: attempt({ startedAt: T + 5, durationMs: 20 }), outcome: "delivered", at: T + 25 },
      { deliveryId: other.id, destination: other.destination, attempt: attempt({ startedAt: T + 2, error: "500", statusCode: 500 }), outcome: "dead", error: "500" },
    ]);
    await store().claim("crm", 1, T + 100, 1000);
    await store().settle([{ deliveryId: failed.id, destination: failed.destination, attempt: attempt({ startedAt: T + 100, durationMs: 5 }), outcome: "delivered", at: T + 105 }]);
    const expected = new Map([
      ["crm", { sent: 2, failed: 1, lastSentAt: T + 105, since: T + 1 }],
      ["slack", { sent: 0, failed: 1, lastSentAt: null, since: T + 2 }],
    ]);
    expect(await store().usage.destinations()).toEqual(expected);
    expect((await store().purgeBatch("evt_0009", "", 10)).events).toBe(1);
    expect(await store().admin.getEvent(e.id)).toBeNull();
    expect(await store().usage.destinations()).toEqual(expected);
  });

  test("source totals add up batches: counts summed, the latest receive kept, the first start kept", async () => {
    expect(await store().usage.sources()).toEqual(new Map());
    await store().usage.addSourceCounts(new Map());
    await store().usage.addSourceCounts(
      new Map([
        ["shop", { received: 2, rejected: 1, lastReceivedAt: T + 5, since: T }],
        ["crm", { received: 0, rejected: 3, lastReceivedAt: null, since: T + 1 }],
      ]),
    );
    await store().usage.addSourceCounts(new Map([["shop", { received: 1, rejected: 0, lastReceivedAt: T + 3, since: T + 9 }]]));
    expect(await store().usage.sources()).toEqual(
      new Map([
        ["shop", { received: 3, rejected: 1, lastReceivedAt: T + 5, since: T }],
        ["crm", { received: 0, rejected: 3, lastReceivedAt: null, since: T + 1 }],
      ]),
    );
  });

  test("a failure run is stored; disabling makes the pending deliveries dead and survives until enabled", async () => {
    expect(await store().destinationHealth()).toEqual([]);
    await store().setFailingSince("crm", T);
    expect(await store().destinationHealth()).toEqual([{ destination: "crm", failingSince: T, disabledAt: null }]);
    await store().setFailingSince("crm", null);
    expect(await store().destinationHealth()).toEqual([{ destination: "crm", failingSince: null, disabledAt: null }]);

    const pending = [delivery("crm"), delivery("crm")];
    const held = delivery("crm", { status: "held_for_digest" });
    const elsewhere = delivery("slack");
    await store().record(event(), [...pending, held, elsewhere]);
    await store().setFailingSince("crm", T + 1);
    expect(await store().disableDestination("crm", T + 5, "crm disabled after failing")).toBe(2);
    expect(await store().destinationHealth()).toEqual([{ destination: "crm", failingSince: null, disabledAt: T + 5 }]);
    for (const d of pending) expect(await store().admin.getDelivery(d.id)).toMatchObject({ status: "dead", lastError: "crm disabled after failing" });
    expect((await store().admin.getDelivery(held.id))!.status).toBe("held_for_digest");
    expect((await store().admin.getDelivery(elsewhere.id))!.status).toBe("pending");
    // A destination disabled before it ever failed gets its row too.
    expect(await store().disableDestination("slack", T + 6, "off")).toBe(1);

    await store().enableDestination("crm");
    expect((await store().destinationHealth()).sort((a, b) => a.destination.localeCompare(b.destination))).toEqual([
      { destination: "crm", failingSince: null, disabledAt: null },
      { destination: "slack", failingSince: null, disabledAt: T + 6 },
    ]);
  });

  test("reviveEgressRefused puts back in line only what the egress policy refused", async () => {
    const refused = delivery("crm", { status: "dead", lastError: "egress refused: 10.0.0.7 is in a private range" });
    const failed = delivery("crm", { status: "dead", lastError: "HTTP 500" });
    await store().record(event(), [refused, failed]);
    expect(await store().reviveEgressRefused(T + 7)).toBe(1);
    expect(await store().admin.getDelivery(refused.id)).toMatchObject({ status: "pending", nextAttemptAt: T + 7 });
    expect((await store().admin.getDelivery(failed.id))!.status).toBe("dead");
    expect(await store().reviveEgressRefused(T + 8)).toBe(0);
  });

  test("retention takes an event whose deliveries were delivered or discarded", async () => {
    const given = delivery("crm", { status: "dead", lastError: "x" });
    await store().record(event({ id: "evt_0001" }), [given]);
    expect((await store().purgeBatch("evt_0005", "", 10)).events).toBe(0);
    await store().admin.discardDelivery(given.id);
    expect(await store().purgeBatch("evt_0005", "", 10)).toMatchObject({ events: 1, deliveries: 1 });
  });

  test("the writer round trip answers while the store is open", async () => {
    await store().pingWriter();
  });
});
