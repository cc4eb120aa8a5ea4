import { describe, expect, test } from "bun:test";
import type { TransformConfig } from "../../src/config/types.ts";
import { checkJsonata } from "../../src/routing/jsonata.ts";
import { render, type Rendered } from "../../src/routing/render.ts";
import { checkTemplate } from "../../src/routing/template.ts";
import { inbound } from "./fixtures.ts";

const event = inbound({
  id: "evt_42",
  source: "shop",
  type: "order.created",
  receivedAt: Date.UTC(2024, 0, 15, 12, 34, 56, 789),
  headers: { "x-shop-domain": "shop.example.com", "x-count": "3" },
  variables: { plan: "pro", seats: 12, owner: { name: "Ada" } },
  body: {
    order: {
      id: 17,
      paid: true,
      total: 149.9,
      customer: { name: "Ada Lovelace", email: "ADA@Example.com" },
      items: [
        { sku: "KB-1", qty: 1 },
        { sku: "MS-2", qty: 2 },
      ],
      tags: ["vip", "b2b"],
      note: null,
      padded: "  hello  ",
      csv: "red,green,blue",
      amount: "12.50",
      session: "884213",
      created: "2024-01-15T12:34:56.789Z",
      createdSeconds: 1705322096,
      createdMs: 1705322096789,
      empty: "",
    },
  },
});

async function template(t: unknown, e = event): Promise<unknown> {
  const out = await render({ mode: "template", template: t }, e);
  if (!out.ok) throw new Error(`render failed: ${out.error}`);
  return JSON.parse(out.body);
}

/** Renders a single placeholder string, keeping its JSON type. */
const one = (placeholder: string) => template(placeholder);

function failed(out: Rendered): string {
  expect(out.ok).toBe(false);
  return out.ok ? "" : out.error;
}

describe("envelope", () => {
  test("is compact JSON of event, timestamp and data", async () => {
    const e = inbound({ type: "order.created", receivedAt: Date.UTC(2024, 2, 10, 9, 15, 30, 250), body: { a: 1, b: [true, null], c: { d: "x y" } } });
    const out = await render({ mode: "envelope" }, e);
    expect(out).toEqual({
      ok: true,
      body: '{"event":"order.created","timestamp":"2024-03-10T09:15:30.250Z","data":{"a":1,"b":[true,null],"c":{"d":"x y"}}}',
    });
  });

  test("ignores the raw bytes and re-serialises the parsed body", async () => {
    const e = inbound({ body: { a: 1 }, rawBody: '{ "a" : 1 }' });
    const out = await render({ mode: "envelope" }, e);
    expect(out.ok && out.body).toContain('"data":{"a":1}');
  });
});

describe("passthrough", () => {
  test("sends the raw body byte for byte", async () => {
    const raw = '{ "name" :\t"Zoë 🚀 – ünïcode",\r\n  "n": 1.50 ,"esc":"\\u00e9",\n\n"nested" : { } }  \n';
    const e = inbound({ body: JSON.parse(raw), rawBody: raw });
    const out = await render({ mode: "passthrough" }, e);
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.body).toBe(raw);
    expect(Buffer.from(out.body, "utf8").equals(Buffer.from(raw, "utf8"))).toBe(true);
  });
});

describe("template: types", () => {
  test("a lone placeholder keeps the JSON type of its value", async () => {
    expect(
      await template({
        id: "{{ webhook.body.order.id }}",
        paid: "{{webhook.body.order.paid}}",
        total: "{{ webhook.body.order.total }}",
        customer: "{{ webhook.body.order.customer }}",
        items: "{{ webhook.body.order.items }}",
        note: "{{ webhook.body.order.note }}",
        missing: "{{ webhook.body.order.nope }}",
        deepMissing: "{{ webhook.body.order.nope.deeper[3] }}",
        sku: "{{ webhook.body.order.items[1].sku }}",
        qty: "{{ webhook.body.order.items.1.qty }}",
        whole: "{{ webhook.body }}",
      }),
    ).toEqual({
      id: 17,
      paid: true,
      total: 149.9,
      customer: { name: "Ada Lovelace", email: "ADA@Example.com" },
      items: [
        { sku: "KB-1", qty: 1 },
        { sku: "MS-2", qty: 2 },
      ],
      note: null,
      missing: null,
      deepMissing: null,
      sku: "MS-2",
      qty: 2,
      whole: event.body,
    });
  });

  test("text around placeholders makes a string; missing values are empty", async () => {
    expect(
      await template({
        line: "Order #{{ webhook.body.order.id }} paid={{ webhook.body.order.paid }} by {{ webhook.body.order.customer.name }}{{ webhook.body.order.nope }}!",
        spaced: " {{ webhook.body.order.id }}",
        object: "c={{ webhook.body.order.customer }}",
        twoPlaceholders: "{{ webhook.body.order.id }}{{ webhook.body.order.id }}",
      }),
    ).toEqual({
      line: "Order #17 paid=true by Ada Lovelace!",
      spaced: " 17",
      object: 'c={"name":"Ada Lovelace","email":"ADA@Example.com"}',
      twoPlaceholders: "1717",
    });
  });

  test("walks nested objects and arrays, keeps non-string literals and plain strings", async () => {
    expect(
      await template({
        outer: { inner: ["{{ webhook.body.order.id }}", 42, true, null, "plain", { x: "{{ event.type }}" }] },
        flag: false,
        "{{ key }}": "keys are literal",
      }),
    ).toEqual({
      outer: { inner: [17, 42, true, null, "plain", { x: "order.created" }] },
      flag: false,
      "{{ key }}": "keys are literal",
    });
  });

  test("a __proto__ key in the template stays an ordinary key", async () => {
    const t = JSON.parse('{"__proto__": {"polluted": "{{ event.id }}"}, "a": 1}');
    const out = await render({ mode: "template", template: t }, event);
    expect(out).toEqual({ ok: true, body: '{"__proto__":{"polluted":"evt_42"},"a":1}' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("the whole template may be a single placeholder or a scalar", async () => {
    expect(await template("{{ webhook.body.order.items }}")).toEqual([
      { sku: "KB-1", qty: 1 },
      { sku: "MS-2", qty: 2 },
    ]);
    expect(await template(7)).toBe(7);
  });

  test("the rendered body is compact JSON", async () => {
    const out = await render({ mode: "template", template: { a: "{{ webhook.body.order.id }}", b: ["x", { c: null }] } }, event);
    expect(out).toEqual({ ok: true, body: '{"a":17,"b":["x",{"c":null}]}' });
  });

  test("headers, variables and event fields", async () => {
    expect(
      await template({
        domain: "{{ webhook.headers.x-shop-domain }}",
        upperCaseName: "{{ webhook.headers.X-Shop-Domain }}",
        noHeader: "{{ webhook.headers.x-none }}",
        plan: "{{ webhook.plan }}",
        seats: "{{ webhook.seats }}",
        ownerName: "{{ webhook.owner.name }}",
        noVariable: "{{ webhook.nothing }}",
        id: "{{ event.id }}",
        type: "{{ event.type }}",
        source: "{{ event.source }}",
        at: "{{ event.received_at }}",
      }),
    ).toEqual({
      domain: "shop.example.com",
      upperCaseName: "shop.example.com",
      noHeader: null,
      plan: "pro",
      seats: 12,
      ownerName: "Ada",
      noVariable: null,
      id: "evt_42",
      type: "order.created",
      source: "shop",
      at: "2024-01-15T12:34:56.789Z",
    });
  });
});

describe("template: filters", () => {
  const cases: Array<[placeholder: string, expected: unknown]> = [
    ["{{ webhook.body.order.customer.name | upper }}", "ADA LOVELACE"],
    ["{{ webhook.body.order.customer.email | lower }}", "ada@example.com"],
    ["{{ webhook.body.order.id | upper }}", "17"],
    ["{{ webhook.body.order.padded | trim }}", "hello"],
    ["{{ webhook.body.order.csv | split: \",\" }}", ["red", "green", "blue"]],
    ["{{ webhook.body.order.customer.name | split: ' ' }}", ["Ada", "Lovelace"]],
    ["{{ webhook.body.order.tags | join }}", "vip,b2b"],
    ["{{ webhook.body.order.tags | join: \", \" }}", "vip, b2b"],
    ["{{ webhook.body.order.csv | split: \",\" | join: \" / \" }}", "red / green / blue"],
    ["{{ webhook.body.order.amount | number }}", 12.5],
    ["{{ webhook.body.order.total | number }}", 149.9],
    ["{{ webhook.body.order.customer.name | number }}", null],
    ["{{ webhook.body.order.empty | number }}", null],
    ["{{ webhook.body.order.session | int }}", 884213],
    ["{{ webhook.body.order.amount | int }}", 12],
    ["{{ webhook.body.order.total | int }}", 149],
    ["{{ webhook.body.order.csv | int }}", null],
    ["{{ webhook.body.order.nope | default: \"n/a\" }}", "n/a"],
    ["{{ webhook.body.order.note | default: 0 }}", 0],
    ["{{ webhook.body.order.empty | default: false }}", false],
    ["{{ webhook.body.order.nope | default: null }}", null],
    ["{{ webhook.body.order.nope | default: -1.5 }}", -1.5],
    ["{{ webhook.body.order.id | default: 'n/a' }}", 17],
    ["{{ webhook.body.order.paid | default: 'n/a' }}", true],
    ["{{ webhook.body.order.nope | upper | default: 'none' }}", "none"],
    ["{{ webhook.body.order.nope | number | int | trim | default: 'kept missing' }}", "kept missing"],
    ["{{ webhook.body.order.nope | default: 'it\\'s' | upper }}", "IT'S"],
    ["{{ webhook.body.order.nope | default: \"}} | {{\" }}", "}} | {{"],
    ["{{ webhook.body.order.customer | json }}", '{"name":"Ada Lovelace","email":"ADA@Example.com"}'],
    ["{{ webhook.body.order.customer.name | json }}", '"Ada Lovelace"'],
    ["{{ webhook.body.order.nope | json }}", "null"],
  ];
  test.each(cases)("%s", async (placeholder, expected) => {
    expect(await one(placeholder)).toEqual(expected);
  });

  test("filters inside text", async () => {
    expect(await one("Hi {{ webhook.body.order.customer.name | upper }} ({{ webhook.body.order.tags | join: '+' }})")).toBe("Hi ADA LOVELACE (vip+b2b)");
  });
});

describe("template: date filter", () => {
  // 2024-01-15T12:34:56.789Z: winter time in Europe, so Berlin is UTC+1.
  const cases: Array<[placeholder: string, expected: unknown]> = [
    ["{{ webhook.body.order.created | date }}", "2024-01-15T12:34:56.789Z"],
    ["{{ webhook.body.order.created | date: 'iso' }}", "2024-01-15T12:34:56.789Z"],
    ["{{ webhook.body.order.created | date: 'iso', 'Asia/Tokyo' }}", "2024-01-15T12:34:56.789Z"],
    ["{{ webhook.body.order.created | date: 'YYYY-MM-DD HH:mm:ss' }}", "2024-01-15 12:34:56"],
    ["{{ webhook.body.order.created | date: 'YYYY-MM-DD HH:mm:ss', 'UTC' }}", "2024-01-15 12:34:56"],
    ["{{ webhook.body.order.created | date: 'YYYY-MM-DD HH:mm:ss', 'Europe/Berlin' }}", "2024-01-15 13:34:56"],
    ["{{ webhook.body.order.created | date: 'YYYY-MM-DD HH:mm:ss', 'America/New_York' }}", "2024-01-15 07:34:56"],
    ["{{ webhook.body.order.created | date: 'YYYY-MM-DD HH:mm', 'Asia/Kolkata' }}", "2024-01-15 18:04"],
    ["{{ webhook.body.order.created | date: 'DD.MM.YYYY HH:mm', 'Pacific/Auckland' }}", "16.01.2024 01:34"],
    ["{{ webhook.body.order.created | date: 'HH:mm:ss.SSS' }}", "12:34:56.789"],
    ["{{ webhook.body.order.created | date: 'YYYY-MM-DD[T]HH:mm[ at ]ss' }}", "2024-01-15T12:34 at 56"],
    ["{{ webhook.body.order.createdMs | date: 'YYYY-MM-DD HH:mm:ss.SSS' }}", "2024-01-15 12:34:56.789"],
    ["{{ webhook.body.order.createdSeconds | date: 'YYYY-MM-DD HH:mm:ss', 'Europe/Berlin' }}", "2024-01-15 13:34:56"],
    ["{{ event.received_at | date: 'HH:mm', 'Europe/Berlin' }}", "13:34"],
    ["{{ webhook.body.order.customer.name | date }}", null],
    ["{{ webhook.body.order.nope | date: 'YYYY' | default: 'never' }}", "never"],
  ];
  test.each(cases)("%s", async (placeholder, expected) => {
    expect(await one(placeholder)).toEqual(expected);
  });

  test("summer time, offsets in the input, and date-times without an offset (read as UTC)", async () => {
    const e = inbound({
      body: { summer: "2024-07-01T10:00:00Z", offset: "2024-07-01T12:00:00+02:00", local: "2024-07-01 10:00:00", secondsText: "1719828000" },
    });
    const fmt = "'YYYY-MM-DD HH:mm', 'Europe/Berlin'";
    // The server's own zone must not leak into parsing; give it one far from UTC for this test.
    const serverZone = process.env.TZ;
    process.env.TZ = "America/Los_Angeles";
    let rendered: unknown;
    try {
      rendered = await template(
        {
          summer: `{{ webhook.body.summer | date: ${fmt} }}`,
          offset: `{{ webhook.body.offset | date: ${fmt} }}`,
          local: `{{ webhook.body.local | date: ${fmt} }}`,
          secondsText: `{{ webhook.body.secondsText | date: ${fmt} }}`,
          london: "{{ webhook.body.summer | date: 'HH:mm', 'Europe/London' }}",
        },
        e,
      );
    } finally {
      if (serverZone === undefined) delete process.env.TZ;
      else process.env.TZ = serverZone;
    }
    expect(rendered).toEqual({
      summer: "2024-07-01 12:00",
      offset: "2024-07-01 12:00",
      local: "2024-07-01 12:00",
      secondsText: "2024-07-01 12:00",
      london: "11:00",
    });
  });
});

describe("template: errors", () => {
  const cases: Array<[template: string, messagePart: string]> = [
    ["{{ webhook.body.x | shout }}", 'unknown filter "shout" in {{ webhook.body.x | shout }}'],
    ["{{ }}", "{{ }}"],
    ["Hi {{ webhook.body.x", "unclosed placeholder"],
    ["{{ webhook.body.x | }}", 'missing filter name after "|" in {{ webhook.body.x | }}'],
    ["{{ webhook.body.x upper }}", '"upper" in {{ webhook.body.x upper }}'],
    ["{{ body.x }}", 'unknown reference "body.x" in {{ body.x }}'],
    ["{{ event.name }}", 'unknown event field "event.name"'],
    ["{{ webhook.body..x }}", 'malformed path "webhook.body..x"'],
    ["{{ webhook.headers.x.y }}", "bad header name"],
    ["{{ webhook.body.x | split }}", 'filter "split" takes 1 argument in {{ webhook.body.x | split }}'],
    ["{{ webhook.body.x | upper: 'a' }}", 'filter "upper" takes 0 arguments'],
    ["{{ webhook.body.x | join: 1 }}", 'filter "join" takes string arguments'],
    ["{{ webhook.body.x | default }}", 'filter "default" takes 1 argument'],
    ["{{ webhook.body.x | default: bare }}", "bad argument bare in {{ webhook.body.x | default: bare }}"],
    ["{{ webhook.body.x | default: }}", 'missing argument for filter "default"'],
    ["{{ webhook.body.x | default: 'open }}", "unterminated string in placeholder"],
    ["{{ webhook.body.x | default: 'a\\q' }}", "bad escape"],
    ["{{ webhook.body.x | date: 'HH', 'Mars/Olympus' }}", 'unknown time zone "Mars/Olympus"'],
    ["{{ webhook.body.x | date: 'a', 'b', 'c' }}", 'filter "date" takes 0 to 2 arguments'],
  ];

  test.each(cases)("render %p fails", async (text, messagePart) => {
    const error = failed(await render({ mode: "template", template: { field: text } }, event));
    expect(error).toContain(messagePart);
    expect(error.startsWith("field: ")).toBe(true);
  });

  test.each(cases)("checkTemplate %p reports it", (text, messagePart) => {
    const problems = checkTemplate({ field: text });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(messagePart);
  });

  test("checkTemplate reports every problem with its location, and none for a good template", () => {
    expect(
      checkTemplate({
        ok: "{{ webhook.body.a | upper }}",
        list: ["fine", "{{ nope }}"],
        nested: { "odd key": "{{ webhook.body.a | nope }}" },
      }),
    ).toEqual([
      'list[1]: unknown reference "nope" in {{ nope }}: expected webhook.body.<path>, webhook.headers.<name>, webhook.<variable>, event.id, event.type, event.source or event.received_at',
      'nested["odd key"]: unknown filter "nope" in {{ webhook.body.a | nope }} (known: upper, lower, trim, split, join, number, int, default, json, date)',
    ]);
    expect(checkTemplate({ a: "{{ webhook.body.a | date: 'YYYY', 'Europe/Berlin' }}", b: [1, null, true], c: "no placeholders" })).toEqual([]);
    expect(checkTemplate("{{ webhook.x }}")).toEqual([]);
  });

  test("a filter that cannot handle the value fails at render time, naming the placeholder", async () => {
    const error = failed(await render({ mode: "template", template: { x: "{{ webhook.body.order.customer | upper }}" } }, event));
    expect(error).toBe("x: upper expects a string, got object in {{ webhook.body.order.customer | upper }}");
    const split = failed(await render({ mode: "template", template: ["{{ webhook.body.order.tags | split: ',' }}"] }, event));
    expect(split).toBe("[0]: split expects a string, got array in {{ webhook.body.order.tags | split: ',' }}");
  });
});

describe("jsonata", () => {
  const jsonata = (expression: string, e = event) => render({ mode: "jsonata", expression }, e);

  test("sees body, headers, variables and event", async () => {
    const out = await jsonata(
      '{"sku": body.order.items[qty > 1].sku, "domain": headers."x-shop-domain", "plan": variables.plan, "event": event, "sum": $sum(body.order.items.qty)}',
    );
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.body).toBe(
      '{"sku":"MS-2","domain":"shop.example.com","plan":"pro","event":{"id":"evt_42","type":"order.created","source":"shop","received_at":"2024-01-15T12:34:56.789Z"},"sum":3}',
    );
  });

  test("a scalar or array result is serialised too", async () => {
    expect(await jsonata("body.order.total * 2")).toEqual({ ok: true, body: "299.8" });
    expect(await jsonata("body.order.items.sku")).toEqual({ ok: true, body: '["KB-1","MS-2"]' });
  });

  test("an evaluation error is ok:false with the message", async () => {
    const error = failed(await jsonata("body.order.customer.name + 1"));
    expect(error).toContain("JSONata evaluation failed");
    expect(error).toContain("T2001");
    expect(error).toContain("+");
  });

  test("a compile error is ok:false", async () => {
    expect(failed(await jsonata("{ 'a': "))).toContain("invalid JSONata expression");
  });

  test("no value is an error", async () => {
    expect(await jsonata("body.order.nope")).toEqual({ ok: false, error: "expression produced no value" });
  });

  test("a function result is an error", async () => {
    expect(failed(await jsonata("function($x) { $x }"))).toBe("expression produced a function, not JSON");
    expect(failed(await jsonata('{"f": function($x) { $x }}'))).toContain("not JSON");
  });

  test("an expression that never ends is stopped", async () => {
    const error = failed(await jsonata("($loop := function($x) { $loop($x + 1) }; $loop(1))"));
    expect(error).toContain("D1012");
  });

  test("checkJsonata reports compile errors only", () => {
    expect(checkJsonata('{"a": body.x}')).toBeNull();
    expect(checkJsonata("body.x + 1")).toBeNull();
    expect(checkJsonata("{ 'a': ")).toMatch(/^S0\d{3}: .+ \(at position \d+\)$/);
    expect(checkJsonata("$sum(")).not.toBeNull();
  });

  test("the same expression evaluates independently for different events", async () => {
    const expr = "body.n * 10";
    const results = await Promise.all([1, 2, 3].map((n) => jsonata(expr, inbound({ body: { n } }))));
    expect(results).toEqual([
      { ok: true, body: "10" },
      { ok: true, body: "20" },
      { ok: true, body: "30" },
    ]);
  });
});

describe("render never throws", () => {
  test("an unserialisable template value becomes ok:false", async () => {
    const out = await render({ mode: "template", template: { big: 10n } }, event);
    expect(failed(out)).toContain("BigInt");
  });

  test("an invalid receive time becomes ok:false", async () => {
    expect(failed(await render({ mode: "envelope" }, inbound({ receivedAt: Number.NaN })))).toBeTruthy();
  });

  test("an unknown mode becomes ok:false", async () => {
    const error = failed(await render({ mode: "xml" } as unknown as TransformConfig, event));
    expect(error).toBe('unknown transform mode "xml"');
  });
});
