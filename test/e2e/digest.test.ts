import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { postJson, startRelayProcess } from "../support/process.ts";
import { tempDir } from "../support/tmp.ts";

let tmp: ReturnType<typeof tempDir>;
let receiver: Receiver;
beforeAll(() => {
  tmp = tempDir("relay-digest-e2e-");
  receiver = startReceiver(() => new Response('{"status":"success"}'));
});
afterAll(() => {
  receiver.stop();
  tmp.cleanup();
});

test("leads posted to the real process, a flush, and the CRM gets one array with all of them", async () => {
  const configPath = join(tmp.dir, "relay.yaml");
  writeFileSync(
    configPath,
    `
server:
  admin_token: \${ADMIN}
storage:
  path: ./data/relay.db
sources:
  chatbot:
    id: leads-e2e
    event_type: body.kind
destinations:
  crm-daily:
    url: ${receiver.url}/daily
    ack: { body: '{"status":"success"}' }
    retry: [1m, 3m]
    digest: { cron: "0 6 * * *", timezone: Europe/Berlin }
routes:
  - from: chatbot
    when: { type: lead }
    to: crm-daily
    transform:
      template:
        SerialNumber: "{{ webhook.body.serial }}"
        Type: Lead
        Email: "{{ webhook.body.email }}"
        SessionID: "{{ webhook.body.session | int }}"
        CreateTime: "{{ event.received_at }}"
`,
  );
  const relay = await startRelayProcess(configPath, { ADMIN: "e2e-admin-token-123456" });
  try {
    for (let i = 1; i <= 5; i++) {
      const r = await postJson(`${relay.url}/api/webhook/leads-e2e`, { kind: "lead", serial: `L-${i}`, email: `lead${i}@example.com`, session: String(1000 + i) });
      expect(r.status).toBe(202);
    }
    const ignored = await postJson(`${relay.url}/api/webhook/leads-e2e`, { kind: "chat", text: "not a lead" });
    expect(ignored.status).toBe(202);
    // Held for the window: nothing is pushed one by one.
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received).toHaveLength(0);

    const denied = await postJson(`${relay.url}/api/digests/crm-daily/flush`, {});
    expect(denied.status).toBe(401);
    const flushed = await postJson(`${relay.url}/api/digests/crm-daily/flush`, {}, { authorization: "Bearer e2e-admin-token-123456" });
    expect(flushed.status).toBe(200);
    expect(flushed.json.items).toBe(5);

    await receiver.waitFor(1, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received).toHaveLength(1);
    const items = JSON.parse(receiver.received[0].body);
    expect(Array.isArray(items)).toBe(true);
    expect(items.map((i: any) => i.SerialNumber)).toEqual(["L-1", "L-2", "L-3", "L-4", "L-5"]);
    expect(items.map((i: any) => i.SessionID)).toEqual([1001, 1002, 1003, 1004, 1005]);
    expect(items[0]).toEqual({ SerialNumber: "L-1", Type: "Lead", Email: "lead1@example.com", SessionID: 1001, CreateTime: expect.any(String) });

    const again = await postJson(`${relay.url}/api/digests/crm-daily/flush`, {}, { authorization: "Bearer e2e-admin-token-123456" });
    expect(again.json.items).toBe(0);
  } finally {
    await relay.kill("SIGTERM");
  }
});
