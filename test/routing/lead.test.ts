import { describe, expect, test } from "bun:test";
import type { VariableConfig } from "../../src/config/types.ts";
import { checkJsonata } from "../../src/routing/jsonata.ts";
import { render } from "../../src/routing/render.ts";
import { checkTemplate } from "../../src/routing/template.ts";
import { readVariables } from "../../src/routing/variables.ts";
import { inbound } from "./fixtures.ts";

// A shop order mapped into the lead record a CRM's daily digest expects (SPEC §5),
// once with JSONata and once with a template: both must send the same bytes.

const order = {
  type: "order",
  order: {
    orderNumber: "SO-10042",
    status: "paid",
    total: 149.9,
    currency: "EUR",
    note: "Please call before delivery",
    sessionId: "884213",
    createdAt: "2024-05-17T08:30:00+02:00",
    url: "https://shop.example.com/orders/SO-10042",
    customer: { firstName: "Ada", lastName: "Lovelace", email: "ada@example.com", phone: "+49 30 1234567" },
    items: [
      { sku: "KB-1", name: "Keyboard", qty: 1, price: 99.9 },
      { sku: "MS-2", name: "Mouse", qty: 2, price: 25 },
    ],
  },
};

const expectedLead = {
  SerialNumber: "SO-10042",
  Type: "Lead",
  FirstName: "Ada",
  LastName: "Lovelace",
  Email: "ada@example.com",
  PhoneNumber: "+49 30 1234567",
  CreateTime: "2024-05-17T06:30:00.000Z",
  Content: "Order SO-10042 (149.9 EUR): Please call before delivery",
  SessionID: 884213,
  URI: "https://shop.example.com/orders/SO-10042",
};

const variables: VariableConfig[] = [{ name: "sessionId", type: "string", required: true, path: "order.sessionId" }];

const LEAD_JSONATA = `{
  "SerialNumber": body.order.orderNumber,
  "Type": "Lead",
  "FirstName": body.order.customer.firstName,
  "LastName": body.order.customer.lastName,
  "Email": body.order.customer.email,
  "PhoneNumber": body.order.customer.phone,
  "CreateTime": $fromMillis($toMillis(body.order.createdAt)),
  "Content": "Order " & body.order.orderNumber & " (" & $string(body.order.total) & " " & body.order.currency & "): " & body.order.note,
  "SessionID": $number(variables.sessionId),
  "URI": body.order.url
}`;

const LEAD_TEMPLATE = {
  SerialNumber: "{{ webhook.body.order.orderNumber }}",
  Type: "Lead",
  FirstName: "{{ webhook.body.order.customer.firstName }}",
  LastName: "{{ webhook.body.order.customer.lastName }}",
  Email: "{{ webhook.body.order.customer.email | lower }}",
  PhoneNumber: "{{ webhook.body.order.customer.phone }}",
  CreateTime: "{{ webhook.body.order.createdAt | date: 'iso' }}",
  Content: "Order {{ webhook.body.order.orderNumber }} ({{ webhook.body.order.total }} {{ webhook.body.order.currency }}): {{ webhook.body.order.note }}",
  SessionID: "{{ webhook.sessionId | int }}",
  URI: "{{ webhook.body.order.url }}",
};

function orderEvent() {
  const vars = readVariables(variables, order);
  if (!vars.ok) throw new Error(vars.errors.join("; "));
  return inbound({ source: "shop", type: "order", body: order, variables: vars.values });
}

describe("shop order → CRM lead", () => {
  test("both mappings pass the load-time checks", () => {
    expect(checkJsonata(LEAD_JSONATA)).toBeNull();
    expect(checkTemplate(LEAD_TEMPLATE)).toEqual([]);
  });

  test("JSONata builds the lead record", async () => {
    const out = await render({ mode: "jsonata", expression: LEAD_JSONATA }, orderEvent());
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    const lead = JSON.parse(out.body);
    expect(lead).toEqual(expectedLead);
    expect(Number.isInteger(lead.SessionID)).toBe(true);
  });

  test("a template builds the same record", async () => {
    const out = await render({ mode: "template", template: LEAD_TEMPLATE }, orderEvent());
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(JSON.parse(out.body)).toEqual(expectedLead);
  });

  test("both send byte-identical bodies", async () => {
    const event = orderEvent();
    const viaJsonata = await render({ mode: "jsonata", expression: LEAD_JSONATA }, event);
    const viaTemplate = await render({ mode: "template", template: LEAD_TEMPLATE }, event);
    expect(viaJsonata.ok && viaTemplate.ok).toBe(true);
    if (!viaJsonata.ok || !viaTemplate.ok) return;
    expect(viaTemplate.body).toBe(viaJsonata.body);
    expect(viaTemplate.body).toBe(JSON.stringify(expectedLead));
  });
});
