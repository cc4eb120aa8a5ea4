import { describe, expect, test } from "bun:test";
import type { FieldType, VariableConfig } from "../../src/config/types.ts";
import { readVariables } from "../../src/routing/variables.ts";

const v = (name: string, type: FieldType, extra: Partial<VariableConfig> = {}): VariableConfig => ({
  name,
  type,
  required: false,
  path: name,
  ...extra,
});

describe("readVariables", () => {
  test("reads every declared type, nested and indexed paths included", () => {
    const body = {
      email: "a@example.com",
      amount: 12.5,
      vip: false,
      meta: { a: 1 },
      tags: ["x"],
      order: { items: [{ sku: "KB-1" }] },
    };
    const result = readVariables(
      [
        v("email", "string", { required: true }),
        v("amount", "number"),
        v("vip", "boolean"),
        v("meta", "object"),
        v("tags", "array"),
        v("firstSku", "string", { path: "order.items[0].sku" }),
        v("secondSku", "string", { path: "order.items.1.sku" }),
      ],
      body,
    );
    expect(result).toEqual({
      ok: true,
      values: { email: "a@example.com", amount: 12.5, vip: false, meta: { a: 1 }, tags: ["x"], firstSku: "KB-1" },
    });
  });

  test("an optional missing variable takes its default or stays absent", () => {
    const result = readVariables([v("plan", "string", { default: "free" }), v("seats", "number"), v("note", "string", { default: "-" })], {
      note: null,
    });
    expect(result).toEqual({ ok: true, values: { plan: "free", note: "-" } });
  });

  test("reports every failing field, in declaration order", () => {
    const body = {
      email: null,
      amount: "12.5",
      vip: "yes",
      meta: [1, 2],
      tags: { a: 1 },
      count: 3,
      ok: "fine",
    };
    const result = readVariables(
      [
        v("email", "string", { required: true }),
        v("phone", "string", { required: true }),
        v("amount", "number"),
        v("vip", "boolean", { required: true }),
        v("meta", "object"),
        v("tags", "array"),
        v("count", "string"),
        v("ok", "string", { required: true }),
      ],
      body,
    );
    expect(result).toEqual({
      ok: false,
      errors: [
        "email: required",
        "phone: required",
        "amount: expected number, got string",
        "vip: expected boolean, got string",
        "meta: expected object, got array",
        "tags: expected array, got object",
        "count: expected string, got number",
      ],
    });
  });

  test("a body that is not an object leaves every variable missing", () => {
    expect(readVariables([v("a", "string", { required: true }), v("b", "number", { default: 1 })], [1, 2])).toEqual({
      ok: false,
      errors: ["a: required"],
    });
  });

  test("no declared variables, nothing to read", () => {
    expect(readVariables([], { anything: 1 })).toEqual({ ok: true, values: {} });
  });
});
