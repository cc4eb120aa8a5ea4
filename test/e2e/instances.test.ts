// Three real `relay serve` processes on one PostgreSQL schema: every acknowledged event is delivered through a
// SIGKILL and restart, no delivery is ever in flight twice at once, the destination's cap holds in total, and a
// digest window that all three close at the same instant goes out once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { postgresEnabled, testSchema } from "../support/postgres.ts";
import { postJson, startRelayProcess, type RelayProcess } from "../support/process.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";

const EVENTS = 10_000;
const CAP = 8;
const enabled = postgresEnabled();

let tmp: ReturnType<typeof tempDir>;
let schema: ReturnType<typeof testSchema>;
let receiver: Receiver;
/** What the receiver saw: deliveries in flight now (by id), the most at once, and any id seen twice at once. */
const inFlight = new Set<string>();
let mostAtOnce = 0;
const overlapping: string[] = [];
const relays: RelayProcess[] = [];

beforeAll(() => {
  if (!enabled) return;
  tmp = tempDir("relay-instances-");
  schema = testSchema("e2e_instances");
  receiver = startReceiver(async (req) => {
    const id = req.headers["x-relay-delivery-id"];
    if (inFlight.has(id)) overlapping.push(id);
    inFlight.add(id);
    mostAtOnce = Math.max(mostAtOnce, inFlight.size);
    await Bun.sleep(req.path === "/leads" ? 1 : 0);
    inFlight.delete(id);
    return new Response('{"status":"success"}');
  });
});
afterAll(async () => {
  if (!enabled) return;
  for (const r of relays) if (r.proc.exitCode === null) await r.kill("SIGKILL");
  receiver.stop();
  await schema.drop();
  tmp.cleanup();
});

(enabled ? test : test.skip)(
  "three instances, one killed and restarted: every event delivered, never twice at once, cap held, one digest per window",
  async () => {
    const configPath = join(tmp.dir, "relay.yaml");
    writeFileSync(
      configPath,
      `
storage:
  postgres:
    url: "${schema.url}"
    pool: 4
sources:
  shop:
    id: multi-shop
  forms:
    id: multi-forms
destinations:
  crm:
    url: ${receiver.url}/leads
    concurrency: ${CAP}
    retry: [1s]
    ack: { body: '{"status":"success"}' }
  daily:
    url: ${receiver.url}/digest
    digest:
      cron: "*/2 * * * * *"
routes:
  - from: shop
    to: crm
  - from: forms
    to: daily
`,
    );
    const start = (n: number) => startRelayProcess(configPath, { RELAY_INSTANCE_ID: `instance-${n}` });
    relays.push(...(await Promise.all([1, 2, 3].map(start))));

    // 10,000 events spread over the three ports, 100 at a time; every one acknowledged.
    const acknowledged = new Set<number>();
    for (let batch = 0; batch < EVENTS / 100; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const n = batch * 100 + i;
          return postJson(`${relays[n % 3].url}/api/webhook/multi-shop`, { type: "order.created", n }).then((r) => ({ n, r }));
        }),
      );
      for (const { n, r } of replies) if (r.status === 202) acknowledged.add(n);
    }
    expect(acknowledged.size).toBe(EVENTS);

    // Mid-delivery, one instance dies without a word and comes back under the same name.
    await receiver.waitFor(EVENTS / 5, 60_000);
    await relays[1].kill("SIGKILL");
    expect(receiver.received.filter((r) => r.path === "/leads").length).toBeLessThan(EVENTS);
    relays[1] = await start(2);

    const delivered = new Set<number>();
    const deadline = Date.now() + 90_000;
    while (delivered.size < EVENTS && Date.now() < deadline) {
      await Bun.sleep(200);
      for (const r of receiver.received) if (r.path === "/leads") delivered.add(JSON.parse(r.body).data.n);
    }
    expect([...acknowledged].filter((n) => !delivered.has(n))).toEqual([]);
    expect(overlapping).toEqual([]);
    expect(mostAtOnce).toBeLessThanOrEqual(CAP);
    expect(mostAtOnce).toBeGreaterThan(1);

    // Digest items arrive at all three; each window (every 2 s, fired by all three crons at once) is sent once.
    for (let n = 0; n < 30; n++) {
      expect((await postJson(`${relays[n % 3].url}/api/webhook/multi-forms`, { type: "lead", n })).status).toBe(202);
      if (n % 10 === 9) await Bun.sleep(1000);
    }
    const sql = postgres(schema.url, { max: 1, onnotice: () => {} });
    try {
      for (let i = 0; i < 100; i++) {
        const [{ held, open }] = await sql<{ held: number; open: number }[]>`
          SELECT count(*) FILTER (WHERE status = 'held_for_digest')::int AS held,
                 count(*) FILTER (WHERE route = 'digest' AND status <> 'delivered')::int AS open FROM deliveries`;
        if (held === 0 && open === 0) break;
        await Bun.sleep(200);
      }
      const windows = await sql<{ n: number; distinct_windows: number }[]>`
        SELECT count(*)::int AS n, count(DISTINCT (destination, window_end, part))::int AS distinct_windows FROM digests`;
      expect(windows[0].n).toBe(windows[0].distinct_windows);
      expect(windows[0].n).toBeGreaterThan(1);
      const sent = await sql<{ id: string }[]>`SELECT delivery_id AS id FROM digests WHERE delivery_id IS NOT NULL`;
      const digestRequests = receiver.received.filter((r) => r.path === "/digest");
      expect(digestRequests.map((r) => r.headers["x-relay-delivery-id"]).sort()).toEqual(sent.map((r) => r.id).sort());
      const items = digestRequests.flatMap((r) => (JSON.parse(r.body) as Array<{ data: { n: number } }>).map((i) => i.data.n));
      expect(items.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, n) => n));
    } finally {
      await sql.end();
    }
    expect(await Promise.all(relays.map((r) => r.kill("SIGTERM")))).toEqual([0, 0, 0]);
  },
  240_000,
);
