import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createKeyViaApi, startHarness, type Harness } from "../support/harness.ts";
import { rawRequest } from "../support/raw-http.ts";

// The README's Inbound table is what Relay answers: each row's status and code, and its error text up to the "…",
// from requests to the real server. A row nobody can produce here fails the test, as does a new row without a request.

const SOURCE = "readme-shop";
let h: Harness;
let url: string;

beforeAll(async () => {
  h = await startHarness(`
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
storage:
  path: ./data/relay.db
sources:
  shop:
    id: ${SOURCE}
    max_body: 1kb
    max_depth: 5
    variables:
      - { name: order_id, type: string, required: true }
  signed:
    id: readme-signed
    verify: { preset: sha256, header: X-Signature, secret: readme-secret }
  keyed:
    id: readme-keyed
    require_api_key: true
destinations:
  crm: { url: "http://127.0.0.1:9/crm" }
routes:
  - { from: [shop, signed, keyed], to: crm }
`);
  url = `http://127.0.0.1:${h.relay.server.port}`;
});
afterAll(() => h?.stop());

const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

const ORDER = JSON.stringify({ type: "order", order_id: "4521" });

/** A request that gets each row's answer, by the row's code (or status for the 2xx rows). */
const requests: Record<string, () => Promise<Response>> = {
  "202": () => post(`/api/webhook/${SOURCE}`, ORDER),
  "200": async () => {
    await post(`/api/webhook/${SOURCE}`, ORDER, { "idempotency-key": "readme-1" });
    return post(`/api/webhook/${SOURCE}`, ORDER, { "idempotency-key": "readme-1" });
  },
  malformed_json: () => post(`/api/webhook/${SOURCE}`, "{"),
  invalid_body: () => post(`/api/webhook/${SOURCE}`, "{}"),
  malformed_body: () => post(`/api/webhook/${SOURCE}`, new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])),
  too_deep: () => post(`/api/webhook/${SOURCE}`, `{"order_id":"1","a":[[[[[[1]]]]]]}`),
  bad_host: async () => {
    const request = `POST /api/webhook/${SOURCE} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
    const res = await rawRequest(h.relay.server.port!, request);
    return new Response(res.body, { status: res.status });
  },
  bad_request: async () => {
    const { key } = await createKeyViaApi(h, { name: "unbound", scopes: ["webhook:write"], source: null });
    return post("/api/webhook", ORDER, { "x-api-key": key });
  },
  unauthorized: async () => {
    // Three rows share the code: the signature, a missing key, an invalid key.
    const answers = [
      await post("/api/webhook/readme-signed", ORDER, { "x-signature": "sha256=00" }),
      await post("/api/webhook/readme-keyed", ORDER),
      await post("/api/webhook/readme-keyed", ORDER, { "x-api-key": "rly_live_0000000000_nope" }),
    ];
    return new Response(JSON.stringify(await Promise.all(answers.map((r) => r.json()))), { status: answers[0].status });
  },
  forbidden: async () => {
    const { key } = await createKeyViaApi(h, { name: "admin only", scopes: ["admin"] });
    return post("/api/webhook/readme-keyed", ORDER, { "x-api-key": key });
  },
  not_found: () => post("/api/webhook/no-such-source", ORDER),
  payload_too_large: () => post(`/api/webhook/${SOURCE}`, JSON.stringify({ order_id: "1", pad: "x".repeat(2000) })),
  unsupported_media_type: () => post(`/api/webhook/${SOURCE}`, ORDER, { "content-type": "text/plain" }),
  rate_limited: async () => {
    const { key } = await createKeyViaApi(h, { name: "slow", scopes: ["webhook:write"], source: "keyed", rateLimitPerMinute: 1 });
    await post("/api/webhook/readme-keyed", ORDER, { "x-api-key": key });
    return post("/api/webhook/readme-keyed", ORDER, { "x-api-key": key });
  },
};

function inboundRows(): Array<{ status: number; cell: string }> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Inbound"), readme.indexOf("## Outbound"));
  return section
    .split("\n")
    .filter((row) => /^\| `\d{3} /.test(row))
    .map((row) => ({ status: Number(row.slice(3, 6)), cell: row.split(" | ")[0].slice(2) }));
}

test("every row of the README's Inbound table is what Relay answers", async () => {
  const rows = inboundRows();
  expect(rows.length).toBeGreaterThan(12);
  const wrong: string[] = [];
  for (const { status, cell } of rows) {
    if (status === 503) continue; // each 503 is a row of *Failure behaviour*, with its own tests (test/hardening/)
    const code = /"code":"(\w+)"/.exec(cell)?.[1];
    const request = requests[code ?? String(status)];
    if (!request) {
      wrong.push(`${cell}: no request in this test produces it`);
      continue;
    }
    const res = await request();
    const text = await res.text();
    if (res.status !== status) wrong.push(`${cell}: answered ${res.status} ${text}`);
    if (code && !text.includes(`"code":"${code}"`)) wrong.push(`${cell}: answered ${text}`);
    // Each error text the row quotes, up to its "…" (N standing for the number), is in the answer.
    const quoted = [...cell.matchAll(/"error":"([^"…]*)/g), ...cell.matchAll(/` or `"([^"]+)"/g)].map((m) => m[1].replace(/ N /, " 1 "));
    for (const error of quoted) if (!text.includes(error)) wrong.push(`${cell}: answered ${text}`);
    if (cell.includes("Retry-After") && res.headers.get("retry-after") === null) wrong.push(`${cell}: no Retry-After`);
  }
  expect(wrong).toEqual([]);
});
