import { afterAll, beforeAll, expect, test } from "bun:test";
import { admin, startHarness, type Harness } from "../support/harness.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";

let h: Harness;
let crm: Receiver;
beforeAll(async () => {
  crm = startReceiver(() => new Response('{"status":"Success"}'));
  h = await startHarness(`
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
storage:
  path: ./data/relay.db
sources:
  bot:
    id: bot-leads
destinations:
  crm-daily:
    url: ${crm.url}/batch
    ack: { body: '{"status":"success"}' }
    retry: [1m, 3m]
    digest: { cron: "0 6 * * *", timezone: Europe/Berlin }
routes:
  - from: bot
    to: crm-daily
    transform: { template: { Email: "{{ webhook.body.email }}" } }
`);
});
afterAll(async () => {
  await h.stop();
  crm.stop();
});

test("a dead digest keeps its items and an admin brings it back with retry-dead", async () => {
  for (const email of ["a@x.io", "b@x.io"]) {
    expect((await h.call("POST", "/api/webhook/bot-leads", { body: { type: "lead", email } })).status).toBe(202);
  }
  const flushed = await h.call("POST", "/api/digests/crm-daily/flush", { headers: admin });
  expect(flushed.json.items).toBe(2);
  // Three attempts answered with the wrong case: then dead.
  for (let i = 0; i < 3; i++) {
    await h.relay.worker.runOnce();
    h.clock.advance(5 * 60_000);
  }
  const dead = await h.call("GET", "/api/deliveries?status=dead&destination=crm-daily", { headers: admin });
  expect(dead.json.deliveries).toHaveLength(1);
  expect(dead.json.deliveries[0]).toMatchObject({ eventId: null, digestId: expect.any(String), attempts: 3 });

  crm.respondWith(() => new Response('{"status":"success"}'));
  const retried = await h.call("POST", "/api/destinations/crm-daily/retry-dead", { headers: admin });
  expect(retried.json).toEqual({ retried: 1 });
  await h.relay.worker.runOnce();
  expect(crm.received).toHaveLength(4);
  expect(JSON.parse(crm.received[3].body)).toEqual([{ Email: "a@x.io" }, { Email: "b@x.io" }]);
  const after = await h.call("GET", "/api/deliveries?status=delivered&destination=crm-daily", { headers: admin });
  expect(after.json.deliveries.map((d: any) => d.digestId)).toEqual([dead.json.deliveries[0].digestId]);
});
