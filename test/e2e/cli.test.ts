import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { verify as octokitVerify } from "@octokit/webhooks-methods";
import { tempDir } from "../support/tmp.ts";

const ROOT = join(import.meta.dir, "..", "..");
const EXAMPLE = join(ROOT, "relay.example.yaml");
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir("relay-cli-");
});
afterAll(() => tmp.cleanup());

function relay(...args: string[]) {
  const env = { ...process.env };
  delete env.CRM_SIGNING_SECRET;
  const p = Bun.spawnSync([process.execPath, join(ROOT, "src", "main.ts"), ...args], { cwd: tmp.dir, env });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

const order = JSON.parse(readFileSync(join(ROOT, "test/fixtures/seeds/aficial/order.json"), "utf8"));

describe("relay check", () => {
  test("the example config is valid and its routing table printed", () => {
    const r = relay("check", "--config", EXAMPLE);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("relay.example.yaml: ok");
    expect(r.stdout).toMatch(/orders-to-crm\s+shop \(\/api\/webhook\/shop-demo-7f3c9a2e41\)\s+type order\s+crm http:\/\/127\.0\.0\.1:9000\/leads\s+template/);
    expect(r.stdout).toMatch(/chat-to-analytics\s+chatbot .*type chat\.\*\s+analytics/);
  });

  test("every error is reported with file, line and key path, and the exit code is 1", () => {
    const file = join(tmp.dir, "broken.yaml");
    writeFileSync(
      file,
      [
        "sources:",
        "  shop: {}",
        "destinations:",
        "  crm:",
        "    url: http://127.0.0.1:9000/x",
        "    timout: 10s",
        "routes:",
        "  - from: shop",
        "    to: crm",
        "  - from: shop",
        "    to: cmr",
      ].join("\n"),
    );
    const r = relay("check", "--config", file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`broken.yaml:6:5: destinations.crm.timout: unknown key "timout"`);
    expect(r.stderr).toContain(`broken.yaml:11:9: routes[1].to: unknown destination "cmr"`);
    expect(r.stderr).toContain("2 problems in the config");
  });
});

describe("relay check and serve with PostgreSQL", () => {
  const minimal = (storage: string) =>
    ["storage:", ...storage.split("\n").map((l) => `  ${l}`), "sources:", "  shop: {}", "destinations:", "  crm:", "    url: http://127.0.0.1:9000/x", "routes:", "  - from: shop", "    to: crm"].join("\n");

  test("check says which backend is in use, without the password", () => {
    const sqlite = join(tmp.dir, "sqlite.yaml");
    writeFileSync(sqlite, minimal("path: ./data/relay.db"));
    expect(relay("check", "--config", sqlite).stdout).toContain(`storage: SQLite file ${join(tmp.dir, "data", "relay.db")}`);
    const pg = join(tmp.dir, "pg.yaml");
    writeFileSync(pg, minimal("postgres:\n  url: postgres://relay:s3cret@db.internal:5432/relay\n  pool: 4"));
    const r = relay("check", "--config", pg);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("storage: PostgreSQL postgres://***@db.internal:5432/relay (pool 4)");
    expect(r.stdout).not.toContain("s3cret");
  });

  test("check refuses a URL that is not PostgreSQL's and a pool out of range, naming the line", () => {
    const file = join(tmp.dir, "bad-pg.yaml");
    writeFileSync(file, minimal("postgres:\n  url: mysql://relay:db-pa55word@db/relay\n  pool: 0"));
    const r = relay("check", "--config", file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bad-pg.yaml:3:10: storage.postgres.url");
    expect(r.stderr).toContain("bad-pg.yaml:4:11: storage.postgres.pool");
    // The mistyped URL is echoed, its password is not.
    expect(r.stderr).toContain('"mysql://***@db/relay"');
    expect(r.stdout + r.stderr).not.toContain("db-pa55word");
  });

  test("serve stops at once with a clear message when the database cannot be reached", () => {
    const file = join(tmp.dir, "down-pg.yaml");
    writeFileSync(file, minimal("postgres:\n  url: postgres://relay:s3cret@127.0.0.1:1/relay"));
    const r = relay("serve", "--config", file, "--port", "0");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot open PostgreSQL at postgres:\/\/relay:\*\*\*@127\.0\.0\.1:1\/relay: .*ECONNREFUSED/);
    expect(r.stderr + r.stdout).not.toContain("s3cret");
  });
});

describe("relay try", () => {
  test("shows the exact body and signed headers each destination would get, sending nothing", () => {
    const payload = join(tmp.dir, "order.json");
    writeFileSync(payload, JSON.stringify(order));
    const r = relay("try", "--config", EXAMPLE, "--source", "shop", "--payload", payload, "--json");
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.type).toBe("order");
    expect(run.deliveries).toHaveLength(1);
    const { route, destination, request } = run.deliveries[0];
    expect([route, destination]).toEqual(["orders-to-crm", "crm"]);
    const lead = JSON.parse(request.body);
    expect(lead).toEqual({
      SerialNumber: "4521",
      Type: "Lead",
      FirstName: "Max Müller",
      LastName: "",
      Email: "max@example.com",
      PhoneNumber: "",
      CreateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      Content: "Order 4521 (shipped): 149.89 EUR",
      SessionID: null,
      URI: "https://shop.example/orders/4521",
    });
    expect(request.headers["X-Aficial-Event"]).toBe("order");
    return octokitVerify("demo-signing-secret", request.body, request.headers["X-Aficial-Signature"]).then((ok) => expect(ok).toBe(true));
  });

  test("the text output names the route and shows the body", () => {
    const payload = join(tmp.dir, "chat.json");
    writeFileSync(payload, JSON.stringify({ event: "chat.message.received", text: "hi" }));
    const r = relay("try", "--config", EXAMPLE, "--source", "chatbot", "--payload", payload);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("route chat-to-analytics → analytics");
    expect(r.stdout).toContain("webhook-signature: v1,");
    expect(r.stdout).toMatch(/\{"event":"chat\.message\.received","timestamp":"[^"]+","data":\{"event":"chat\.message\.received","text":"hi"\}\}/);
  });

  test("a payload the source rejects is explained", () => {
    const payload = join(tmp.dir, "bad.json");
    writeFileSync(payload, JSON.stringify({ type: "order", order: "4521" }));
    const r = relay("try", "--config", EXAMPLE, "--source", "shop", "--payload", payload);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("rejected (400): invalid body: order: expected object, got string");
  });
});
