import { describe, expect, test } from "bun:test";
import type { FieldCondition, RouteConfig } from "../../src/config/types.ts";
import { matchesConditions, matchesType, matchRoutes } from "../../src/routing/match.ts";
import { inbound } from "./fixtures.ts";

describe("matchesType", () => {
  const cases: Array<[pattern: string, type: string, expected: boolean]> = [
    ["order.created", "order.created", true],
    ["order.created", "order.created.v2", false],
    ["order.created", "Order.created", false],
    ["order", "orders", false],
    ["chat.*", "chat.message", true],
    ["chat.*", "chat.message.sent", true],
    ["chat.*", "chat.", true],
    ["chat.*", "chat", false],
    ["chat.*", "chatter.message", false],
    ["chat.*", "Chat.message", false],
    ["*.created", "order.created", true],
    ["*.created", "customer.created", true],
    ["*.created", "order.updated", false],
    ["*.created", "created", false],
    ["*", "anything.at.all", true],
    ["*", "", true],
    ["order.*.done", "order.payment.done", true],
    ["order.*.done", "order.a.b.done", true],
    ["order.*.done", "order.done", false],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "acb", false],
    ["a*a", "a", false],
    ["a*a", "aa", true],
    ["**", "x", true],
    // regex metacharacters are literal
    ["a.b", "aXb", false],
    ["a+b.*", "a+b.c", true],
    ["(x)|y", "y", false],
  ];
  test.each(cases)("%p vs %p → %p", (pattern, type, expected) => {
    expect(matchesType(pattern, type)).toBe(expected);
  });
});

describe("matchesConditions", () => {
  const event = inbound({
    headers: { "x-shop": "berlin", "x-count": "7" },
    body: {
      order: {
        total: 120,
        discount: "12.5",
        status: "paid",
        tags: ["vip", "b2b"],
        meta: { a: 1, b: [1, 2] },
        nothing: null,
        flag: false,
        blank: "",
        code: "0x1A",
      },
    },
  });

  const cases: Array<[label: string, condition: FieldCondition, expected: boolean]> = [
    ["equals string", { path: "body.order.status", op: "equals", value: "paid" }, true],
    ["equals is case-sensitive", { path: "body.order.status", op: "equals", value: "Paid" }, false],
    ["equals number", { path: "body.order.total", op: "equals", value: 120 }, true],
    ["equals does not coerce", { path: "body.order.total", op: "equals", value: "120" }, false],
    ["equals object, other key order", { path: "body.order.meta", op: "equals", value: { b: [1, 2], a: 1 } }, true],
    ["equals object, different value", { path: "body.order.meta", op: "equals", value: { a: 1, b: [2, 1] } }, false],
    ["equals object, extra key", { path: "body.order.meta", op: "equals", value: { a: 1, b: [1, 2], c: 0 } }, false],
    ["equals array", { path: "body.order.tags", op: "equals", value: ["vip", "b2b"] }, true],
    ["equals null", { path: "body.order.nothing", op: "equals", value: null }, true],
    ["not_equals", { path: "body.order.status", op: "not_equals", value: "cancelled" }, true],
    ["not_equals same", { path: "body.order.status", op: "not_equals", value: "paid" }, false],
    ["not_equals missing field", { path: "body.order.missing", op: "not_equals", value: "paid" }, true],
    ["in", { path: "body.order.status", op: "in", value: ["paid", "shipped"] }, true],
    ["in, absent", { path: "body.order.status", op: "in", value: ["open", "shipped"] }, false],
    ["in, deep", { path: "body.order.meta.b", op: "in", value: [[1, 2], [3]] }, true],
    ["exists true", { path: "body.order.status", op: "exists", value: true }, true],
    ["exists true on missing", { path: "body.order.missing", op: "exists", value: true }, false],
    ["exists false on missing", { path: "body.order.missing", op: "exists", value: false }, true],
    ["exists on null counts as absent", { path: "body.order.nothing", op: "exists", value: true }, false],
    ["exists on false is present", { path: "body.order.flag", op: "exists", value: true }, true],
    ["exists on empty string is present", { path: "body.order.blank", op: "exists", value: true }, true],
    ["gt", { path: "body.order.total", op: "gt", value: 100 }, true],
    ["gt equal", { path: "body.order.total", op: "gt", value: 120 }, false],
    ["gte equal", { path: "body.order.total", op: "gte", value: 120 }, true],
    ["lt", { path: "body.order.total", op: "lt", value: 120 }, false],
    ["lte", { path: "body.order.total", op: "lte", value: 120 }, true],
    ["numeric string gt", { path: "body.order.discount", op: "gt", value: 12 }, true],
    ["numeric string lt", { path: "body.order.discount", op: "lt", value: 12.5 }, false],
    ["numeric string lte", { path: "body.order.discount", op: "lte", value: 12.5 }, true],
    ["numeric header", { path: "headers.x-count", op: "gte", value: 7 }, true],
    ["non-numeric string gt", { path: "body.order.status", op: "gt", value: 0 }, false],
    ["non-numeric string lt", { path: "body.order.status", op: "lt", value: 1e9 }, false],
    ["hex string is not a number", { path: "body.order.code", op: "gt", value: 0 }, false],
    ["empty string is not a number", { path: "body.order.blank", op: "gte", value: 0 }, false],
    ["boolean is not a number", { path: "body.order.flag", op: "gte", value: -1 }, false],
    ["null is not a number", { path: "body.order.nothing", op: "lte", value: 0 }, false],
    ["missing is not a number", { path: "body.order.missing", op: "lt", value: 1 }, false],
    ["array is not a number", { path: "body.order.tags", op: "gt", value: 0 }, false],
    ["header name is case-insensitive", { path: "headers.X-Shop", op: "equals", value: "berlin" }, true],
    ["header value is case-sensitive", { path: "headers.x-shop", op: "equals", value: "Berlin" }, false],
    ["missing header", { path: "headers.x-none", op: "exists", value: false }, true],
    ["bracket path", { path: "body.order.tags[1]", op: "equals", value: "b2b" }, true],
    ["unknown root never exists", { path: "query.x", op: "exists", value: true }, false],
  ];
  test.each(cases)("%s", (_label, condition, expected) => {
    expect(matchesConditions([condition], event)).toBe(expected);
  });

  test("all conditions must hold; an empty list holds", () => {
    const paid: FieldCondition = { path: "body.order.status", op: "equals", value: "paid" };
    const big: FieldCondition = { path: "body.order.total", op: "gte", value: 100 };
    const huge: FieldCondition = { path: "body.order.total", op: "gte", value: 1000 };
    expect(matchesConditions([paid, big], event)).toBe(true);
    expect(matchesConditions([paid, huge], event)).toBe(false);
    expect(matchesConditions([huge, paid], event)).toBe(false);
    expect(matchesConditions([], event)).toBe(true);
  });
});

describe("matchRoutes", () => {
  const route = (name: string, from: string[], types: string[], fields: FieldCondition[] = [], to = [`${name}-dest`]): RouteConfig => ({
    name,
    from,
    when: { types, fields },
    to,
    transform: { mode: "envelope" },
  });
  const routes = [
    route("audit", ["shop", "chat"], [], [], ["archive", "siem"]),
    route("big-orders", ["shop"], ["order.*"], [{ path: "body.total", op: "gte", value: 100 }]),
    route("chat", ["chat"], ["chat.*"]),
    route("created", ["shop", "crm"], ["*.created", "*.imported"]),
    route("cancelled", ["shop"], ["order.created"], [{ path: "body.status", op: "equals", value: "cancelled" }]),
  ];
  const names = (matched: RouteConfig[]) => matched.map((r) => r.name);

  test("one event fans out to every matching route, in config order", () => {
    const event = inbound({ source: "shop", type: "order.created", body: { total: 150, status: "paid" } });
    expect(names(matchRoutes(event, routes))).toEqual(["audit", "big-orders", "created"]);
  });

  test("field conditions drop routes", () => {
    const small = inbound({ source: "shop", type: "order.created", body: { total: "50", status: "cancelled" } });
    expect(names(matchRoutes(small, routes))).toEqual(["audit", "created", "cancelled"]);
  });

  test("the source must be listed in from", () => {
    expect(names(matchRoutes(inbound({ source: "crm", type: "lead.created" }), routes))).toEqual(["created"]);
    expect(names(matchRoutes(inbound({ source: "chat", type: "chat.message" }), routes))).toEqual(["audit", "chat"]);
    expect(matchRoutes(inbound({ source: "unknown", type: "order.created" }), routes)).toEqual([]);
  });

  test("any of several type patterns matches", () => {
    expect(names(matchRoutes(inbound({ source: "crm", type: "contact.imported" }), routes))).toEqual(["created"]);
    expect(names(matchRoutes(inbound({ source: "crm", type: "contact.deleted" }), routes))).toEqual([]);
  });

  test("returns the configured route objects, each once even with several destinations", () => {
    const matched = matchRoutes(inbound({ source: "chat", type: "presence" }), routes);
    expect(matched).toHaveLength(1);
    expect(matched[0]).toBe(routes[0]);
    expect(matched[0].to).toEqual(["archive", "siem"]);
  });

  test("no routes, no match", () => {
    expect(matchRoutes(inbound(), [])).toEqual([]);
  });
});
