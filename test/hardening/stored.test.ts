import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { admin, startHarness, type Harness } from "../support/harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const YAML = `
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
storage:
  path: ./data/relay.db
sources:
  gitlab:
    id: gl-1
    redact_headers: [X-Tenant-Secret]
destinations:
  crm: { url: "http://127.0.0.1:9/crm" }
routes:
  - from: gitlab
    to: crm
    transform: { template: { token: "{{webhook.headers.x-gitlab-token}}" } }
`;

test("sender credentials are stored as [redacted]: built-in names and the source's redact_headers", async () => {
  h = await startHarness(YAML);
  const headers = {
    "x-gitlab-token": "v1-gl",
    "x-auth-token": "v2-auth",
    "x-webhook-secret": "v3-hook",
    "x-tenant-secret": "v4-tenant",
    authorization: "Bearer b",
    "x-trace": "kept",
  };
  const res = await h.call("POST", "/api/webhook/gl-1", { headers, body: { type: "push" } });
  expect(res.status).toBe(202);
  const event = (await h.call("GET", `/api/events/${res.json.id}`, { headers: admin })).json;
  for (const name of ["x-gitlab-token", "x-auth-token", "x-webhook-secret", "x-tenant-secret", "authorization"]) {
    expect(event.headers[name]).toBe("[redacted]");
  }
  expect(event.headers["x-trace"]).toBe("kept");
  // Templates see the redacted value too.
  expect(JSON.parse(event.deliveries[0].body)).toEqual({ token: "[redacted]" });
  expect(JSON.stringify(event)).not.toMatch(/v1-gl|v2-auth|v3-hook|v4-tenant/);
  const stored = new Database(h.dbPath, { readonly: true });
  const row = stored.query<{ headers: string }, []>("SELECT headers FROM events").get()!;
  stored.close();
  expect(row.headers).not.toMatch(/v1-gl|v2-auth|v3-hook|v4-tenant/);
});

test("the admin view of a stored event never fails, however deep its body", async () => {
  h = await startHarness(YAML);
  const res = await h.call("POST", "/api/webhook/gl-1", { body: { type: "push" } });
  // An event stored before the depth limit existed.
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  const db = new Database(h.dbPath);
  db.query("UPDATE events SET body = ? WHERE id = ?").run(deep, res.json.id);
  db.close();
  const view = await h.call("GET", `/api/events/${res.json.id}`, { headers: admin });
  expect(view.status).toBe(200);
  expect(view.json.bodyIsJson).toBe(false);
  expect(view.json.body).toBe(deep);
});

test("a route that throws gets 500 JSON without its message; the edge answers even when the app itself throws", async () => {
  const { createApp, edgeHandler } = await import("../../src/app.ts");
  const { Elysia } = await import("elysia");
  const { createLogger } = await import("../../src/log.ts");
  const lines: string[] = [];
  const app = createApp({
    log: createLogger((l) => lines.push(l), "debug"),
    ingest: { config: () => ({ sources: {} }) as never, sourceUrls: () => new Map(), receive: async () => { throw new Error("unused"); } },
    health: { pingDatabase: () => {}, startedAt: Date.now(), version: "test" },
    plugins: [new Elysia().get("/boom", () => { throw new Error("ENOENT: /srv/relay/secret/path.db"); })],
  });
  const res = await edgeHandler(app, 1024)(new Request("http://relay.test/boom", { headers: { host: "relay.test" } }));
  expect(res.status).toBe(500);
  const text = await res.text();
  expect(JSON.parse(text)).toEqual({ error: "internal error", code: "internal" });
  expect(text).not.toContain("/srv/relay");
  expect(lines.some((l) => l.includes("unhandled error"))).toBe(true);

  const broken = edgeHandler({ handle: () => { throw new Error("/srv/relay/x.ts:1"); } }, 1024);
  const last = await broken(new Request("http://relay.test/x", { headers: { host: "relay.test" } }));
  expect(last.status).toBe(500);
  expect(await last.json()).toEqual({ error: "internal error", code: "internal" });
});
