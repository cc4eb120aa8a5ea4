import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { postJson, startRelayProcess } from "../support/process.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";

const GRACE_MS = 10_000; // relay serve's shutdown grace (main.ts → relay.stop())
const EVENTS = 24;

let tmp: ReturnType<typeof tempDir>;
let receiver: Receiver;
beforeAll(() => {
  tmp = tempDir("relay-sigterm-");
  // Slow, so SIGTERM lands while attempts are in flight.
  receiver = startReceiver(async () => {
    await Bun.sleep(400);
    return new Response("ok");
  });
});
afterAll(() => {
  receiver.stop();
  tmp.cleanup();
});

function statuses(): Record<string, number> {
  const db = new Database(join(tmp.dir, "data", "relay.db"), { readonly: true });
  try {
    const rows = db.query("SELECT status, count(*) AS n FROM deliveries GROUP BY status").all() as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  } finally {
    db.close();
  }
}

test(
  "SIGTERM: in-flight attempts finish, the process exits 0 within the grace period, a restart delivers the rest",
  async () => {
    const configPath = join(tmp.dir, "relay.yaml");
    writeFileSync(
      configPath,
      `
storage:
  path: ./data/relay.db
sources:
  shop:
    id: sigterm-shop
destinations:
  crm:
    url: ${receiver.url}/leads
    concurrency: 3
routes:
  - from: shop
    to: crm
`,
    );
    const first = await startRelayProcess(configPath);
    const acknowledged = await Promise.all(
      Array.from({ length: EVENTS }, (_, n) => postJson(`${first.url}/api/webhook/sigterm-shop`, { type: "lead.created", n })),
    );
    expect(acknowledged.map((r) => r.status)).toEqual(Array(EVENTS).fill(202));

    await receiver.waitFor(4);
    const signalledAt = Date.now();
    first.proc.kill("SIGTERM");
    const code = await first.proc.exited;
    const tookMs = Date.now() - signalledAt;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(GRACE_MS);
    await first.ended;
    expect(first.lines.some((l) => l.includes('"relay stopped"'))).toBe(true);

    // Every request the receiver got was answered and settled before the exit: nothing left in flight, nothing lost.
    const afterStop = statuses();
    expect(afterStop.in_flight).toBeUndefined();
    expect(afterStop.delivered).toBe(receiver.received.length);
    expect(afterStop.pending).toBe(EVENTS - receiver.received.length);
    expect(afterStop.pending).toBeGreaterThan(0);

    const second = await startRelayProcess(configPath);
    try {
      await receiver.waitFor(EVENTS, 30_000);
    } finally {
      second.proc.kill("SIGTERM");
      expect(await second.proc.exited).toBe(0);
    }
    const seen = receiver.received.map((r) => JSON.parse(r.body).data.n as number).sort((a, b) => a - b);
    // A graceful stop leaves no half-finished attempt behind, so nothing is sent twice.
    expect(seen).toEqual(Array.from({ length: EVENTS }, (_, n) => n));
    expect(statuses()).toEqual({ delivered: EVENTS });
  },
  60_000,
);
