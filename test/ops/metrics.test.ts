import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { startHarness, type Harness } from "../support/harness.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { parsePrometheusText, valueOf, type Family } from "./prom-text.ts";

const METRICS_TOKEN = "mtr-3b8e1f0c2d4a6b9e7f1a";

const yaml = (receiverUrl: string, server = "") => `
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
${server}
storage:
  path: ./data/relay.db
sources:
  shop:
    id: shop-url-id
    event_type: body.type
destinations:
  good:
    url: ${receiverUrl}/good
  bad:
    url: ${receiverUrl}/bad
    retry: [1s]
  later:
    url: ${receiverUrl}/later
    digest: { cron: "0 6 * * *" }
routes:
  - from: shop
    to: [good, bad, later]
`;

let receiver: Receiver;
let h: Harness | undefined;
beforeEach(() => {
  // "good" answers after 5 ms, so its attempt durations (whole milliseconds) can never all round to 0.
  receiver = startReceiver(async (req) => {
    if (req.path === "/bad") return new Response("no", { status: 500 });
    if (req.path === "/good") await Bun.sleep(5);
    return new Response("ok");
  });
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  receiver.stop();
});

async function scrape(harness: Harness, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await harness.relay.app.handle(new Request("http://localhost/metrics", { headers }));
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheusText(await res.text());
}

describe("GET /metrics", () => {
  test("valid exposition whose numbers match what happened", async () => {
    h = await startHarness(yaml(receiver.url));
    const post = (body: unknown, headers: Record<string, string> = {}, path = "/api/webhook/shop-url-id") => h!.call("POST", path, { body, headers });

    for (let i = 0; i < 3; i++) expect((await post({ type: "order.created", n: i }, { "idempotency-key": `k${i}` })).status).toBe(202);
    expect((await post({ type: "order.created", n: 0 }, { "idempotency-key": "k0" })).status).toBe(200);
    expect((await post("{not json")).status).toBe(400);
    expect((await post("{}", { "content-type": "text/plain" })).status).toBe(415);
    expect((await post({ type: "x" }, {}, "/api/webhook/no-such-id")).status).toBe(404);

    expect(await h.relay.worker.runOnce()).toBe(6); // good: 3 delivered; bad: 3 failed
    h.clock.advance(60_000);
    expect(await h.relay.worker.runOnce()).toBe(3); // bad: out of attempts
    h.relay.metrics.digestClosed("later");
    h.relay.metrics.digestClosed("later");

    const m = await scrape(h);
    const received = (source: string, outcome: string) =>
      valueOf(m, "relay_events_received_total", "relay_events_received_total", { source, outcome });
    expect(m.get("relay_events_received_total")?.type).toBe("counter");
    expect(received("shop", "accepted")).toBe(3);
    expect(received("shop", "duplicate")).toBe(1);
    expect(received("shop", "rejected")).toBe(2);
    expect(received("_unknown", "rejected")).toBe(1);

    const deliveries = (destination: string, outcome: string) =>
      valueOf(m, "relay_deliveries_total", "relay_deliveries_total", { destination, outcome });
    expect(deliveries("good", "delivered")).toBe(3);
    expect(deliveries("bad", "retry")).toBe(3);
    expect(deliveries("bad", "dead")).toBe(3);
    expect(deliveries("good", "retry")).toBeUndefined();

    const hist = "relay_attempt_duration_seconds";
    expect(m.get(hist)?.type).toBe("histogram");
    expect(valueOf(m, hist, `${hist}_count`, { destination: "good" })).toBe(3);
    expect(valueOf(m, hist, `${hist}_count`, { destination: "bad" })).toBe(6);
    expect(valueOf(m, hist, `${hist}_bucket`, { destination: "bad", le: "+Inf" })).toBe(6);
    expect(valueOf(m, hist, `${hist}_sum`, { destination: "good" })).toBeGreaterThanOrEqual(3 * 0.005);

    const depth = (status: string) => valueOf(m, "relay_outbox_depth", "relay_outbox_depth", { status });
    expect(m.get("relay_outbox_depth")?.type).toBe("gauge");
    expect([depth("pending"), depth("in_flight"), depth("held_for_digest"), depth("dead")]).toEqual([0, 0, 3, 3]);

    expect(valueOf(m, "relay_digest_windows_closed_total", "relay_digest_windows_closed_total", { destination: "later" })).toBe(2);

    // Six failures in a row on "bad" opened its circuit.
    const circuit = (destination: string, state: string) => valueOf(m, "relay_destination_circuit", "relay_destination_circuit", { destination, state });
    expect(circuit("bad", "open")).toBe(1);
    expect(circuit("bad", "closed")).toBe(0);
    expect(circuit("good", "closed")).toBe(1);
  });

  test("the outbox depth is read at each scrape, not frozen at the first", async () => {
    h = await startHarness(yaml(receiver.url));
    const depth = async () => valueOf(await scrape(h!), "relay_outbox_depth", "relay_outbox_depth", { status: "pending" });
    expect(await depth()).toBe(0);
    await h.call("POST", "/api/webhook/shop-url-id", { body: { type: "a" } });
    expect(await depth()).toBe(2);
    await h.relay.worker.runOnce();
    expect(await depth()).toBe(1); // bad waits for its retry
  });

  test("each Relay counts in its own registry", async () => {
    h = await startHarness(yaml(receiver.url));
    const other = await startHarness(yaml(receiver.url));
    try {
      await h.call("POST", "/api/webhook/shop-url-id", { body: { type: "a" } });
      const mine = await scrape(h);
      const theirs = await scrape(other);
      expect(valueOf(mine, "relay_events_received_total", "relay_events_received_total", { source: "shop", outcome: "accepted" })).toBe(1);
      expect(valueOf(theirs, "relay_events_received_total", "relay_events_received_total", { source: "shop", outcome: "accepted" })).toBeUndefined();
    } finally {
      await other.stop();
    }
  });

  test("with server.metrics_token set, the bearer token is required", async () => {
    h = await startHarness(yaml(receiver.url, "  metrics_token: ${METRICS_TOKEN}"), { METRICS_TOKEN });
    const wrong: Array<Record<string, string>> = [{}, { authorization: `Bearer ${METRICS_TOKEN}0` }, { authorization: METRICS_TOKEN }, { "x-api-key": METRICS_TOKEN }];
    for (const headers of wrong) {
      const res = await h.relay.app.handle(new Request("http://localhost/metrics", { headers }));
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "metrics token required", code: "unauthorized" });
    }
    const families = await scrape(h, { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(families.has("relay_outbox_depth")).toBe(true);
  });

  test("the process's own figures: resident memory, CPU time, open descriptors, event-loop lag", async () => {
    h = await startHarness(yaml(receiver.url));
    const one = (families: Map<string, Family>, name: string) => valueOf(families, name, name, {}) ?? Number.NaN;
    const first = await scrape(h);
    expect(first.get("process_resident_memory_bytes")?.type).toBe("gauge");
    expect(one(first, "process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    expect(first.get("process_cpu_seconds_total")?.type).toBe("counter");
    expect(one(first, "process_open_fds")).toBeGreaterThan(3);

    // Burn CPU, open files, and hold the loop while a scrape waits: each figure moves.
    const spin = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    // CPU time, not wall time: on a busy machine the process gets only a share of each wall-clock millisecond.
    const cpuBefore = process.cpuUsage();
    while (process.cpuUsage(cpuBefore).user < 150_000) spin(5);
    const files = Array.from({ length: 20 }, () => openSync(h!.dbPath, "r"));
    try {
      const pending = scrape(h);
      setTimeout(() => spin(120), 0);
      const second = await pending;
      expect(one(second, "process_cpu_seconds_total")).toBeGreaterThanOrEqual(one(first, "process_cpu_seconds_total") + 0.1);
      expect(one(second, "process_open_fds")).toBeGreaterThanOrEqual(one(first, "process_open_fds") + 20);
      expect(one(second, "relay_event_loop_lag_seconds")).toBeGreaterThanOrEqual(0);
    } finally {
      for (const fd of files) closeSync(fd);
    }
    // A loop held by synchronous work at scrape time shows as lag.
    const held = h.relay.metrics.render();
    spin(100);
    const lagged = parsePrometheusText(await held);
    expect(one(lagged, "relay_event_loop_lag_seconds")).toBeGreaterThanOrEqual(0.09);
  });

  test("documented in OpenAPI under operations", async () => {
    h = await startHarness(yaml(receiver.url));
    const doc = (await h.call("GET", "/api/openapi/json")).json;
    expect(doc.paths["/metrics"].get.tags).toEqual(["operations"]);
  });
});

describe("the exposition parser used above", () => {
  test("accepts well-formed text", () => {
    const text = [
      "# HELP x_total Things.",
      "# TYPE x_total counter",
      'x_total{a="q\\"uote",b="line\\nbreak"} 3',
      "# TYPE h histogram",
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      "h_sum 3.5",
      "h_count 2",
      "",
    ].join("\n");
    const m = parsePrometheusText(text);
    expect(valueOf(m, "x_total", "x_total", { a: 'q"uote', b: "line\nbreak" })).toBe(3);
  });

  test.each([
    ["no final newline", "# TYPE a gauge\na 1"],
    ["a sample before its TYPE", "a 1\n"],
    ["a bad metric name", "# TYPE 1a gauge\n1a 1\n"],
    ["an unquoted label", "# TYPE a gauge\na{x=1} 1\n"],
    ["a bad value", "# TYPE a gauge\na one\n"],
    ["a duplicate series", '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
    ["a sample of another family", "# TYPE a gauge\nb 1\n"],
    ["a histogram whose +Inf differs from _count", '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ["falling buckets", '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
  ])("rejects %s", (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
