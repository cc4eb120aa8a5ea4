import { describe, expect, test } from "bun:test";
import { maskUrl, routingTable } from "../../src/config/describe.ts";
import { parseConfig } from "../../src/config/load.ts";

describe("maskUrl", () => {
  test.each([
    ["http://127.0.0.1:9000/hook", "http://127.0.0.1:9000/hook"],
    ["https://user:pass@crm.example.com/in", "https://***@crm.example.com/in"],
    ["https://token@crm.example.com/in", "https://***@crm.example.com/in"],
    ["https://crm.example.com/in?token=abc&v=2", "https://crm.example.com/in?token=***&v=***"],
    ["https://crm.example.com/in?apikey", "https://crm.example.com/in?***"],
    ["https://u:p@crm.example.com:8443/a/b?key=s3cr3t#frag", "https://***@crm.example.com:8443/a/b?key=***#***"],
    ["https://crm.example.com/in?", "https://crm.example.com/in"],
    ["not a url?token=abc", "not a url?token=***"],
    ["//user:pw@host/x", "//***@host/x"],
  ])("%p → %p", (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });

  test("no secret survives", () => {
    const masked = maskUrl("https://alice:hunter2@h.example/p?sig=abcdef&x=hunter2");
    expect(masked).not.toContain("hunter2");
    expect(masked).not.toContain("alice");
    expect(masked).not.toContain("abcdef");
  });
});

describe("routingTable", () => {
  const config = parseConfig(
    `
sources:
  shop: { id: shop-orders-7f3c9a }
  chat: {}
destinations:
  crm: { url: "https://bot:pw@crm.example.com/hook?key=k1", digest: { cron: "0 6 * * *", timezone: Europe/Berlin } }
  slack: { url: "http://127.0.0.1:9000/hook" }
routes:
  - name: orders
    from: shop
    when:
      type: [order.*, refund.*]
      match:
        - { path: body.order.total, gte: 100 }
        - { path: headers.x-test, exists: false }
    to: [crm, slack]
  - from: [shop, chat]
    to: slack
    transform: passthrough
`,
    "relay.yaml",
    {},
  );

  test("one row per (route, destination)", () => {
    const [header, rule, ...rows] = routingTable(config).split("\n");
    expect(header.split(/\s{2,}/)).toEqual(["ROUTE", "FROM", "WHEN", "TO", "TRANSFORM", "DIGEST"]);
    expect(rule).toMatch(/^[- ]+$/);
    expect(rows.map((row) => row.split(/\s{2,}/))).toEqual([
      [
        "orders",
        "shop (/api/webhook/shop-orders-7f3c9a)",
        "type order.*|refund.* and body.order.total >= 100 and headers.x-test missing",
        "crm https://***@crm.example.com/hook?key=***",
        "envelope",
        "digest 0 6 * * * Europe/Berlin",
      ],
      [
        "orders",
        "shop (/api/webhook/shop-orders-7f3c9a)",
        "type order.*|refund.* and body.order.total >= 100 and headers.x-test missing",
        "slack http://127.0.0.1:9000/hook",
        "envelope",
        "-",
      ],
      [
        "routes[1]",
        "shop (/api/webhook/shop-orders-7f3c9a), chat (/api/webhook/<generated at start>)",
        "*",
        "slack http://127.0.0.1:9000/hook",
        "passthrough",
        "-",
      ],
    ]);
  });

  test("columns are fixed-width: every cell starts where its header does", () => {
    const [header, rule, ...rows] = routingTable(config).split("\n");
    const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
    expect([...rule.matchAll(/-+/g)].map((m) => m.index)).toEqual(starts);
    for (const row of rows) {
      for (const start of starts) {
        expect(row[start]).not.toBe(" ");
        if (start > 0) expect(row.slice(start - 2, start)).toBe("  ");
      }
    }
  });

  test("conditions read as comparisons", () => {
    const table = routingTable(
      parseConfig(
        `
sources: { s: {} }
destinations: { d: { url: "http://h/" } }
routes:
  - from: s
    to: d
    when:
      match:
        - { path: body.a, equals: "x" }
        - { path: body.b, not_equals: 1 }
        - { path: body.c, in: [1, 2] }
        - { path: headers.x-d, exists: true }
        - { path: body.e, lt: 5 }
`,
        "relay.yaml",
        {},
      ),
    );
    expect(table).toContain('body.a == "x" and body.b != 1 and body.c in [1,2] and headers.x-d exists and body.e < 5');
  });

  test("never prints a credential", () => {
    const table = routingTable(config);
    expect(table).not.toContain("pw");
    expect(table).not.toContain("k1");
  });

  test("a config without routes says so", () => {
    expect(routingTable(parseConfig("sources: { a: {} }", "relay.yaml", {}))).toBe("(no routes)");
  });
});
