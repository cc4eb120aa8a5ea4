import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readTypedEnvelope, TYPED_ENVELOPES, TypedBodySchema } from "../../src/ingest/typed.ts";

const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/seeds/aficial", name), "utf8"));

describe("readTypedEnvelope: the Aficial document's bodies", () => {
  test.each([
    ["order.json", "order", "Order data received"],
    ["customer.json", "customer", "Customer data received"],
    ["product.json", "product", "Product data received"],
    ["event.json", "shipping_delay", "Event data received"],
    ["sdk-order.json", "order", "Order data received"],
  ])("%s is accepted as written", (file, type, message) => {
    expect(readTypedEnvelope(fixture(file))).toEqual({ ok: true, type, message });
  });
});

describe("readTypedEnvelope: any structure inside the typed object", () => {
  const cases: Array<[label: string, body: unknown, type: string]> = [
    ["camelCase order", { type: "order", order: { orderNumber: "SO-1", items: [{ sku: 7, qty: "2" }] } }, "order"],
    ["empty order", { type: "order", order: {} }, "order"],
    ["order with extra top-level fields", { type: "order", order: { total: "109.90" }, extra: 1 }, "order"],
    ["customer without email", { type: "customer", customer: { name: 5, tags: ["ok", 1, null] } }, "customer"],
    ["product with string price", { type: "product", product: { sku: "", price: "9.99", stock: [] } }, "product"],
    ["event without data", { type: "event", event: "inventory_sync" }, "inventory_sync"],
  ];
  test.each(cases)("%s", (_label, body, type) => {
    expect(readTypedEnvelope(body)).toMatchObject({ ok: true, type });
  });
});

describe("readTypedEnvelope: what is essential", () => {
  const cases: Array<[label: string, body: unknown, errors: string[]]> = [
    ["order missing", { type: "order" }, ["order: required"]],
    ["order null", { type: "order", order: null }, ["order: expected object, got null"]],
    ["order not an object", { type: "order", order: "SO-1" }, ["order: expected object, got string"]],
    ["order an array", { type: "order", order: [] }, ["order: expected object, got array"]],
    ["customer missing", { type: "customer", order: {} }, ["customer: required"]],
    ["product a number", { type: "product", product: 1 }, ["product: expected object, got number"]],
    ["event empty", { type: "event", event: "" }, ["event: must not be empty"]],
    ["event missing", { type: "event", data: {} }, ["event: required"]],
    ["event not a string, data an array", { type: "event", event: 5, data: [1] }, ["event: expected string, got number", "data: expected object, got array"]],
    ["unknown type", { type: "invoice", invoice: {} }, ['type: unknown type "invoice", expected one of order, customer, product, event']],
    ["type case matters", { type: "Order", order: {} }, ['type: unknown type "Order", expected one of order, customer, product, event']],
    ["no type", { order: { order_number: "1" } }, ["type: required (expected one of order, customer, product, event)"]],
    ["type not a string", { type: 1 }, ["type: expected string, got number (expected one of order, customer, product, event)"]],
    ["inherited name is not a type", { type: "toString" }, ['type: unknown type "toString", expected one of order, customer, product, event']],
    ["body is an array", [{ type: "order" }], ["body: expected object, got array"]],
    ["body is null", null, ["body: expected object, got null"]],
  ];
  test.each(cases)("%s", (_label, body, errors) => {
    expect(readTypedEnvelope(body)).toEqual({ ok: false, errors });
  });
});

describe("TYPED_ENVELOPES", () => {
  test("one entry per accepted type, each requiring only its type and its object", () => {
    expect(Object.keys(TYPED_ENVELOPES)).toEqual(["order", "customer", "product", "event"]);
    for (const [kind, envelope] of Object.entries(TYPED_ENVELOPES)) {
      expect(envelope.message).toMatch(/ data received$/);
      expect(envelope.schema.required).toEqual(["type", kind]);
      expect(envelope.schema.additionalProperties).toBe(true);
    }
  });

  test("the published schema is the one the check compiles", () => {
    expect(TypedBodySchema.anyOf).toEqual(Object.values(TYPED_ENVELOPES).map((e) => e.schema));
  });
});
