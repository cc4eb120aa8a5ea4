import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { postJson, startRelayProcess, type RelayProcess } from "../support/process.ts";
import { rawRequest } from "../support/raw-http.ts";
import { tempDir } from "../support/tmp.ts";

// Requests a browser or fetch() would never send, written byte by byte to the real process.

let tmp: ReturnType<typeof tempDir>;
let relay: RelayProcess;
let port: number;

beforeAll(async () => {
  tmp = tempDir("relay-edge-");
  const file = join(tmp.dir, "relay.yaml");
  writeFileSync(
    file,
    `
storage:
  path: ./data/relay.db
sources:
  shop:
    id: edge-shop
    max_body: 1mb
  shallow:
    id: edge-shallow
    max_depth: 3
destinations:
  crm: { url: "http://127.0.0.1:9/crm" }
routes:
  - { from: [shop, shallow], to: crm }
`,
  );
  relay = await startRelayProcess(file, { RELAY_LOG_LEVEL: "debug" });
  port = Number(new URL(relay.url).port);
});
afterAll(async () => {
  await relay?.kill();
  tmp.cleanup();
});

const raw = (bytes: string | Buffer, ms?: number) => rawRequest(port, bytes, ms);

function expectCleanJson(body: string, code: string) {
  const json = JSON.parse(body);
  expect(json).toEqual({ error: expect.any(String), code });
  expect(body).not.toContain(tmp.dir);
  expect(body).not.toContain("node_modules");
  expect(body).not.toContain(".ts:");
}

describe("a request with an unusable Host", () => {
  test.each([
    ["an empty Host", "GET /nothing HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n"],
    ["a malformed Host", "GET /nothing HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"],
    ["no Host (HTTP/1.0)", "GET /nothing HTTP/1.0\r\n\r\n"],
    ["no Host on ingest (HTTP/1.0)", 'POST /api/webhook/edge-shop HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'],
    ["a malformed Host on ingest", 'POST /api/webhook/edge-shop HTTP/1.1\r\nHost: a b\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'],
  ])("%s gets 400 JSON, never an error page", async (_, request) => {
    const res = await raw(request);
    expect(res.status).toBe(400);
    expect(res.head.toLowerCase()).toContain("content-type: application/json");
    expectCleanJson(res.body, "bad_host");
  });
});

describe("routing depends on the path alone", () => {
  test("a one-letter Host reaches the ingest route", async () => {
    const body = '{"type":"order"}';
    const res = await raw(
      `POST /api/webhook/edge-shop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(res.status).toBe(202);
    expect(JSON.parse(res.body)).toMatchObject({ success: true });
  });

  test("with a one-letter Host, /zz/metrics is not /metrics", async () => {
    const res = await raw("GET /zz/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(res.status).toBe(404);
    expectCleanJson(res.body, "not_found");
    expect(JSON.parse(res.body).error).toBe("no route for GET /zz/metrics");
    const metrics = await raw("GET /metrics HTTP/1.1\r\nHost: ab\r\nConnection: close\r\n\r\n");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain("relay_events_received_total");
  });
});

describe("bodies", () => {
  test("a declared body above the server's hard limit gets the same JSON 413 as max_body", async () => {
    const res = await raw(
      `POST /api/webhook/edge-shop HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: ${17 * 1024 * 1024}\r\nConnection: close\r\n\r\n{"a":`,
    );
    expect(res.status).toBe(413);
    expectCleanJson(res.body, "payload_too_large");
    const perSource = await postJson(`${relay.url}/api/webhook/edge-shop`, "x".repeat(2 * 1024 * 1024));
    expect(perSource.status).toBe(413);
    expect(perSource.json.code).toBe("payload_too_large");
  });

  test("a chunked body is cut off at the source's limit", async () => {
    const chunk = "a".repeat(60 * 1024);
    const chunked = `POST /api/webhook/edge-shop HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`
      + `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(4) + "0\r\n\r\n";
    const res = await raw(chunked.replace("edge-shop", "edge-shallow"));
    expect(res.status).toBe(413);
    expectCleanJson(res.body, "payload_too_large");
  });

  test("JSON deeper than 64 levels is refused with 400; the limit is per source", async () => {
    const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
    const deep = await postJson(`${relay.url}/api/webhook/edge-shop`, nest(100_000));
    expect(deep.status).toBe(400);
    expect(deep.json).toEqual({ error: 'JSON nests deeper than the 64-level limit of source "shop"', code: "too_deep" });
    const fits = await postJson(`${relay.url}/api/webhook/edge-shop`, `{"type":"t","a":${nest(63)}}`);
    expect(fits.json).toMatchObject({ success: true });
    expect((await postJson(`${relay.url}/api/webhook/edge-shop`, `{"type":"t","a":${nest(64)}}`)).status).toBe(400);
    // Brackets inside strings do not count.
    expect((await postJson(`${relay.url}/api/webhook/edge-shallow`, `{"a":{"b":"[[[[{{{{\\"}}"}}`)).status).toBe(202);
    expect((await postJson(`${relay.url}/api/webhook/edge-shallow`, `{"a":{"b":{"c":[]}}}`)).status).toBe(400);
  });
});

test("a sender that hangs up mid-body is logged at debug, not as an unhandled error", async () => {
  await new Promise<void>((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write("POST /api/webhook/edge-shop HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"type\":");
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 200);
    });
  });
  const deadline = Date.now() + 3000;
  while (!relay.lines.some((l) => l.includes("client went away")) && Date.now() < deadline) await Bun.sleep(25);
  const line = relay.lines.find((l) => l.includes("client went away"));
  expect(line && JSON.parse(line).level).toBe("debug");
  expect(relay.lines.filter((l) => l.includes("unhandled error"))).toEqual([]);
});

test("relay check rejects a max_body the server cannot accept", async () => {
  const { parseConfig } = await import("../../src/config/load.ts");
  expect(() => parseConfig("sources: { big: { max_body: 17mb } }", "relay.yaml", {})).toThrow(/sources\.big\.max_body: 17mb is above the 16mb the server accepts for any request/);
  expect(parseConfig("sources: { big: { max_body: 16mb } }", "relay.yaml", {}).sources.big.maxBodyBytes).toBe(16 * 1024 * 1024);
});
