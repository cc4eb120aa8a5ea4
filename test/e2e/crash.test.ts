import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { postJson, startRelayProcess } from "../support/process.ts";
import { tempDir } from "../support/tmp.ts";

let tmp: ReturnType<typeof tempDir>;
let receiver: Receiver;
beforeAll(() => {
  tmp = tempDir("relay-crash-");
  // Slow enough that the kill lands while deliveries are still in flight.
  receiver = startReceiver(async () => {
    await new Promise((r) => setTimeout(r, 3));
    return new Response('{"status":"success"}');
  });
});
afterAll(() => {
  receiver.stop();
  tmp.cleanup();
});

test("SIGKILL mid-delivery loses none of 1,000 acknowledged events", async () => {
  const configPath = join(tmp.dir, "relay.yaml");
  writeFileSync(
    configPath,
    `
storage:
  path: ./data/relay.db
sources:
  shop:
    id: crash-test-shop
destinations:
  crm:
    url: ${receiver.url}/leads
    concurrency: 4
    retry: [1s]
    ack: { body: '{"status":"success"}' }
routes:
  - from: shop
    to: crm
`,
  );
  const first = await startRelayProcess(configPath);
  const ingest = `${first.url}/api/webhook/crash-test-shop`;
  const ids: string[] = [];
  for (let batch = 0; batch < 20; batch++) {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postJson(ingest, { type: "order.created", n: batch * 50 + i })),
    );
    for (const r of replies) {
      expect(r.status).toBe(202);
      ids.push(r.json.id);
    }
  }
  expect(new Set(ids).size).toBe(1000);
  await receiver.waitFor(100, 20_000);
  await first.kill("SIGKILL");
  const deliveredBeforeKill = receiver.received.length;
  expect(deliveredBeforeKill).toBeLessThan(1000);

  const second = await startRelayProcess(configPath);
  try {
    const seen = new Set<number>();
    const deadline = Date.now() + 45_000;
    while (seen.size < 1000 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      for (const r of receiver.received) seen.add(JSON.parse(r.body).data.n);
    }
    const missing = Array.from({ length: 1000 }, (_, i) => i).filter((n) => !seen.has(n));
    expect(missing).toEqual([]);
  } finally {
    await second.kill("SIGTERM");
  }
  const db = new Database(join(tmp.dir, "data", "relay.db"), { readonly: true });
  const statuses = db.query("SELECT status, count(*) AS n FROM deliveries GROUP BY status").all();
  db.close();
  expect(statuses).toEqual([{ status: "delivered", n: 1000 }]);
});
