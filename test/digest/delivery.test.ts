import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { createApp } from "../../src/app.ts";
import { ManualClock } from "../../src/clock.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { Config, SourceConfig } from "../../src/config/types.ts";
import { createDigestScheduler, type DigestScheduler } from "../../src/digest/scheduler.ts";
import { previousTick } from "../../src/digest/window.ts";
import { createWorker, type Worker } from "../../src/delivery/worker.ts";
import { createReceiver } from "../../src/ingest/receive.ts";
import { silentLogger } from "../support/log.ts";
import { schemeFromPreset } from "../../src/signing/index.ts";
import { openStore, type SqliteStore as Store } from "../../src/store/store.ts";
import { configWith } from "../support/destination.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";
import { deliveryRow, digestDestination, hold, rowsWhere } from "./helpers.ts";

const MIN = 60_000;
const TICK = Date.UTC(2026, 10, 23, 6, 0, 0);
const ACK = { statuses: [[200, 299]] as Array<[number, number]>, bodies: ['{"status":"success"}'] };

let tmp: ReturnType<typeof tempDir>;
let dbPath: string;
let store: Store;
let clock: ManualClock;
let receiver: Receiver;
let worker: Worker;
let scheduler: DigestScheduler;
let config: Config;
let wakes: number;

function wire(cfg: Config) {
  config = cfg;
  worker = createWorker({ store, config: () => config, clock, log: silentLogger, random: () => 0.5 });
  wakes = 0;
  scheduler = createDigestScheduler({
    store,
    config: () => config,
    clock,
    log: silentLogger,
    onClosed: () => {
      wakes++;
      worker.wake();
    },
  });
}

beforeEach(async () => {
  tmp = tempDir();
  dbPath = join(tmp.dir, "relay.db");
  store = openStore(dbPath);
  clock = new ManualClock(TICK - 30 * MIN);
  receiver = startReceiver(() => new Response('{"status":"success"}'));
});
afterEach(async () => {
  scheduler.stop();
  await worker.stop(100);
  receiver.stop();
  await store.close();
  tmp.cleanup();
});

describe("a digest goes through the normal delivery path", () => {
  test("leads posted to ingest are held, then sent once as one signed digest that meets the ack contract", async () => {
    // Near the real time, so the independent standardwebhooks library accepts the signature's timestamp.
    const cron = "0 * * * *";
    const tick = previousTick(cron, "UTC", Date.now())!;
    const secret = "whsec_" + Buffer.from("digest-signing-key-0123456789abc").toString("base64");
    const source: SourceConfig = {
      name: "forms",
      id: "forms",
      kind: "generic",
      maxBodyBytes: 100 * 1024,
      eventType: { from: "body", path: "Type" },
      requireApiKey: false,
      variables: [],
    };
    wire({
      ...configWith(dbPath, [
        digestDestination("crm", `${receiver.url}/leads`, { cron }, { ack: ACK, sign: { scheme: schemeFromPreset("standard-webhooks"), secrets: [secret] } }),
      ]),
      sources: { forms: source },
      routes: [{ name: "leads", from: ["forms"], when: { types: [], fields: [] }, to: ["crm"], transform: { mode: "passthrough" } }],
    });
    const app = createApp({
      log: silentLogger,
      ingest: { config: () => config, sourceUrls: () => new Map([["forms", "forms"]]), receive: createReceiver({ store, config: () => config, clock, log: silentLogger }) },
      health: { pingDatabase: () => store.ping(), startedAt: Date.now(), version: "test" },
    });
    const leads = [
      '{"SerialNumber":"A1","Type":"Lead","FirstName":"Zoë","LastName":"Ng","SessionID":7}',
      '{"SerialNumber":"A2", "Type":"Appointment", "Email":"a@example.com", "SessionID":8}',
    ];
    clock.set(tick - 5 * MIN);
    for (const body of leads) {
      const res = await app.handle(
        new Request("http://relay.test/api/webhook/forms", { method: "POST", headers: { "content-type": "application/json" }, body }),
      );
      expect(res.status).toBe(202);
      clock.advance(1000);
    }
    expect(rowsWhere(store, "status = 'held_for_digest'")).toHaveLength(2);
    expect(await worker.runOnce()).toBe(0);
    expect(receiver.received).toHaveLength(0);

    clock.set(Date.now());
    const [closed] = await scheduler.close("crm");
    expect(closed.items).toBe(2);
    expect(wakes).toBe(1);
    expect(await worker.runOnce()).toBe(1);

    expect(receiver.received).toHaveLength(1);
    const got = receiver.received[0];
    expect(got.path).toBe("/leads");
    expect(got.body).toBe(`[${leads[0]},${leads[1]}]`);
    expect(got.headers["x-relay-event-type"]).toBe("digest");
    expect(got.headers["webhook-id"]).toBe(closed.digests[0].deliveryId!);
    expect(() => new Webhook(secret).verify(got.body, got.headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(got.body.replace("A1", "A9"), got.headers)).toThrow();
    expect(deliveryRow(store, closed.digests[0].deliveryId!)).toMatchObject({ status: "delivered", attempts: 1 });

    // Delivered once: nothing left to send, nothing left to digest.
    expect(await worker.runOnce()).toBe(0);
    expect(await scheduler.close("crm")).toEqual([]);
    expect(rowsWhere(store, "status = 'held_for_digest'")).toEqual([]);
  });

  test('answered {"status":"Success"}: retried after 1 and 3 minutes, then dead, items still attached and retryable', async () => {
    receiver.respondWith(() => new Response('{"status":"Success"}'));
    wire(configWith(dbPath, [digestDestination("crm", receiver.url, {}, { ack: ACK, retry: { kind: "schedule", delaysMs: [60_000, 180_000] } })]));
    const items = [await hold(store, "crm", TICK - 20 * MIN, '{"n":1}'), await hold(store, "crm", TICK - 10 * MIN, '{"n":2}')];
    clock.set(TICK);
    const [closed] = await scheduler.close("crm");
    const digestId = closed.digests[0].id;
    const deliveryId = closed.digests[0].deliveryId!;

    expect(await worker.runOnce()).toBe(1);
    expect(deliveryRow(store, deliveryId)).toMatchObject({ status: "pending", attempts: 1 });
    // The delay counts from the end of the failed attempt, which took a real millisecond or two.
    const first = deliveryRow(store, deliveryId).next_attempt_at;
    expect(first - TICK).toBeGreaterThanOrEqual(60_000);
    expect(first - TICK).toBeLessThan(61_000);

    clock.set(first - 1);
    expect(await worker.runOnce()).toBe(0);
    clock.set(first);
    expect(await worker.runOnce()).toBe(1);
    expect(deliveryRow(store, deliveryId)).toMatchObject({ status: "pending", attempts: 2 });
    const second = deliveryRow(store, deliveryId).next_attempt_at;
    expect(second - first).toBeGreaterThanOrEqual(180_000);
    expect(second - first).toBeLessThan(181_000);

    clock.set(second - 1);
    expect(await worker.runOnce()).toBe(0);
    clock.set(second);
    expect(await worker.runOnce()).toBe(1);
    expect(deliveryRow(store, deliveryId)).toMatchObject({ status: "dead", attempts: 3 });
    expect(receiver.received.map((r) => r.body)).toEqual(Array(3).fill('[{"n":1},{"n":2}]'));
    clock.advance(24 * 60 * MIN);
    expect(await worker.runOnce()).toBe(0);

    const table = store.digests;
    expect(await table.digest(digestId)).toMatchObject({ status: "dead", attempts: 3, items: 2 });
    expect((await table.digest(digestId))!.lastError).toContain("is not an expected acknowledgment");
    expect(items.map((id) => deliveryRow(store, id))).toMatchObject([
      { status: "digested", digest_id: digestId },
      { status: "digested", digest_id: digestId },
    ]);
    expect((await table.digestItems(digestId)).map((i) => i.id)).toEqual(items);
    // The next window does not pick them up again.
    clock.set(TICK + 24 * 60 * MIN);
    expect((await scheduler.close("crm")).map((c) => c.items)).toEqual([0]);

    receiver.respondWith(() => new Response('{"status":"success"}'));
    expect(await table.retryDigest(digestId, clock.now())).toBe(true);
    expect(await table.retryDigest(digestId, clock.now())).toBe(false);
    expect(await worker.runOnce()).toBe(1);
    expect(await table.digest(digestId)).toMatchObject({ status: "delivered", attempts: 1 });
    expect(receiver.received.at(-1)!.body).toBe('[{"n":1},{"n":2}]');
    expect(await table.retryDigest(digestId, clock.now())).toBe(false);
  });

  test("relay.yaml: a Berlin digest closed on spring-forward morning, split by max_items, enveloped, acknowledged", async () => {
    const yaml = `
storage:
  path: ./relay.db
sources:
  forms:
    id: forms-test
destinations:
  crm:
    url: \${CRM_URL}
    retry: [1m, 3m]
    ack:
      status: 2xx
      body: '{"status":"success"}'
    digest:
      cron: "0 6 * * *"
      timezone: Europe/Berlin
      max_items: 2
      body: envelope
routes:
  - name: leads
    from: forms
    to: crm
    transform:
      template:
        SerialNumber: "{{ webhook.body.id }}"
        Type: Lead
        FirstName: "{{ webhook.body.first }}"
`;
    wire(parseConfig(yaml, "relay.yaml", { CRM_URL: `${receiver.url}/crm` }));
    const app = createApp({
      log: silentLogger,
      ingest: {
        config: () => config,
        sourceUrls: () => new Map([["forms-test", "forms"]]),
        receive: createReceiver({ store, config: () => config, clock, log: silentLogger }),
      },
      health: { pingDatabase: () => store.ping(), startedAt: Date.now(), version: "test" },
    });
    const post = async (at: number, id: string, first: string) => {
      clock.set(at);
      const res = await app.handle(
        new Request("http://relay.test/api/webhook/forms-test", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ type: "lead", id, first }),
        }),
      );
      expect(res.status).toBe(202);
    };
    // Saturday 28 March (CET) and early Sunday 29 March, after the clocks jumped to CEST at 01:00Z.
    await post(Date.UTC(2026, 2, 28, 12, 0, 0), "A1", "Zoë");
    await post(Date.UTC(2026, 2, 29, 1, 30, 0), "A2", "Ana");
    await post(Date.UTC(2026, 2, 29, 3, 59, 59, 999), "A3", "Ben");
    await post(Date.UTC(2026, 2, 29, 4, 0, 0, 1), "A4", "Cem");

    // 06:00 Berlin on the spring-forward day is 04:00 UTC.
    clock.set(Date.UTC(2026, 2, 29, 4, 0, 5));
    const [closed] = await scheduler.close("crm");
    expect(closed.windowEnd).toBe(Date.UTC(2026, 2, 29, 4, 0, 0));
    expect(closed.windowEnd - closed.windowStart).toBe(23 * 60 * MIN);
    expect(closed.digests.map((d) => [d.part, d.parts, d.items])).toEqual([
      [1, 2, 2],
      [2, 2, 1],
    ]);
    expect(await worker.runOnce()).toBe(2);

    const item = (id: string, first: string) => `{"SerialNumber":"${id}","Type":"Lead","FirstName":"${first}"}`;
    const window = '"window":{"start":"2026-03-28T05:00:00.000Z","end":"2026-03-29T04:00:00.000Z"}';
    expect(receiver.received.map((r) => r.body).sort()).toEqual([
      `{"event":"digest","destination":"crm",${window},"part":1,"parts":2,"count":2,"items":[${item("A1", "Zoë")},${item("A2", "Ana")}]}`,
      `{"event":"digest","destination":"crm",${window},"part":2,"parts":2,"count":1,"items":[${item("A3", "Ben")}]}`,
    ]);
    expect(receiver.received.every((r) => r.path === "/crm" && r.headers["x-relay-event-type"] === "digest")).toBe(true);
    expect(closed.digests.map((d) => deliveryRow(store, d.deliveryId!).status)).toEqual(["delivered", "delivered"]);
    expect(rowsWhere(store, "status = 'held_for_digest'").map((r) => r.body)).toEqual([item("A4", "Cem")]);
  });
});
