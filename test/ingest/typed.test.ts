import { describe, expect, test } from "bun:test";
import { readTypedEnvelope, TYPED_ENVELOPES } from "../../src/ingest/typed.ts";

describe("readTypedEnvelope: accepted bodies", () => {
  const cases: Array<[label: string, body: unknown, type: string, message: string]> = [
    [
      "full order",
      {
        type: "order",
        order: {
          orderNumber: "SO-1",
          status: "paid",
          trackingNumber: "1Z999",
          items: [{ sku: "KB-1", name: "Keyboard", qty: 1, price: 99.9 }, { qty: 2, price: 5 }],
          total: 109.9,
          currency: "EUR",
          customer_email: "a@example.com",
          customerEmail: "a@example.com",
        },
      },
      "order",
      "Order data received",
    ],
    ["minimal order", { type: "order", order: { orderNumber: "SO-2" } }, "order", "Order data received"],
    ["order with null optionals", { type: "order", order: { orderNumber: "SO-3", trackingNumber: null, currency: null } }, "order", "Order data received"],
    ["order with extra fields", { type: "order", order: { orderNumber: "SO-4", giftWrap: true, items: [{ qty: 1, price: 1, color: "red" }] }, extra: 1 }, "order", "Order data received"],
    ["customer", { type: "customer", customer: { email: "a@example.com", name: "Ada", tier: "gold", tags: ["vip", "b2b"] } }, "customer", "Customer data received"],
    ["customer with empty tags", { type: "customer", customer: { email: "a@example.com", tags: [] } }, "customer", "Customer data received"],
    ["product", { type: "product", product: { sku: "KB-1", name: "Keyboard", price: 99.9, stock: 0 } }, "product", "Product data received"],
    ["event with data", { type: "event", event: "shipping_delay", data: { orderNumber: "SO-1", days: 3 } }, "shipping_delay", "Event data received"],
    ["event without data", { type: "event", event: "inventory_sync" }, "inventory_sync", "Event data received"],
  ];
  test.each(cases)("%s", (_label, body, type, message) => {
    expect(readTypedEnvelope(body)).toEqual({ ok: true, type, message });
  });
});

describe("readTypedEnvelope: rejected bodies", () => {
  const cases: Array<[label: string, body: unknown, errors: string[]]> = [
    [
      "order with several problems",
      {
        type: "order",
        order: {
          status: 3,
          items: [{ sku: "KB-1", qty: 1, price: 9 }, { sku: 7, qty: "2", price: 5 }, "not an item", { price: 1 }],
          total: "109.90",
          customerEmail: false,
        },
      },
      [
        "order.orderNumber: required",
        "order.status: expected string, got number",
        "order.items[1].sku: expected string, got number",
        "order.items[1].qty: expected number, got string",
        "order.items[2]: expected object, got string",
        "order.items[3].qty: required",
        "order.total: expected number, got string",
        "order.customerEmail: expected string, got boolean",
      ],
    ],
    ["order missing", { type: "order" }, ["order: required"]],
    ["order null", { type: "order", order: null }, ["order: required"]],
    ["order not an object", { type: "order", order: "SO-1" }, ["order: expected object, got string"]],
    ["order items not an array", { type: "order", order: { orderNumber: "SO-1", items: { qty: 1 } } }, ["order.items: expected array, got object"]],
    [
      "customer",
      { type: "customer", customer: { name: 5, tags: ["ok", 1, null] } },
      ["customer.email: required", "customer.name: expected string, got number", "customer.tags[1]: expected string, got number"],
    ],
    [
      "product",
      { type: "product", product: { sku: "", price: "9.99", stock: [] } },
      ["product.price: expected number, got string", "product.stock: expected number, got array"],
    ],
    ["event empty", { type: "event", event: "" }, ["event: must not be empty"]],
    ["event missing", { type: "event", data: {} }, ["event: required"]],
    ["event not a string, data an array", { type: "event", event: 5, data: [1] }, ["event: expected string, got number", "data: expected object, got array"]],
    ["unknown type", { type: "invoice", invoice: {} }, ['type: unknown type "invoice", expected one of order, customer, product, event']],
    ["type case matters", { type: "Order", order: { orderNumber: "SO-1" } }, ['type: unknown type "Order", expected one of order, customer, product, event']],
    ["no type", { order: { orderNumber: "SO-1" } }, ["type: required (expected one of order, customer, product, event)"]],
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
  test("is the table the reader uses: one entry per accepted type", () => {
    expect(Object.keys(TYPED_ENVELOPES)).toEqual(["order", "customer", "product", "event"]);
    for (const [kind, envelope] of Object.entries(TYPED_ENVELOPES)) {
      expect(envelope.message).toMatch(/ data received$/);
      if (kind !== "event") expect(envelope.properties[kind]).toMatchObject({ type: "object", required: true });
    }
  });

  test("required fields in the table are the ones the reader demands", () => {
    const order = TYPED_ENVELOPES.order.properties.order;
    if (order.type !== "object" || !order.properties) throw new Error("order must be an object shape");
    const required = Object.entries(order.properties)
      .filter(([, field]) => field.required)
      .map(([name]) => name);
    expect(required).toEqual(["orderNumber"]);
    expect(readTypedEnvelope({ type: "order", order: {} })).toEqual({ ok: false, errors: required.map((n) => `order.${n}: required`) });
  });
});
