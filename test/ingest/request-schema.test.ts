import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/load.ts";
import { ingestRequestSchema, sourceRequestSchema } from "../../src/ingest/request-schema.ts";
import { startHarness } from "../support/harness.ts";

const YAML = `
sources:
  bot:
    id: bot-secret-url-id
    variables:
      - { name: email, type: string, required: true, path: user.email, description: "the lead's address" }
      - { name: score, type: number, default: 0 }
      - { name: tags, type: array }
  shop:
    id: shop-secret-url-id
    kind: typed
`;

const config = parseConfig(YAML, "relay.yaml", {});

describe("a source's request schema", () => {
  test("declared variables become nested, typed, described properties", () => {
    expect(sourceRequestSchema(config.sources.bot)).toEqual({
      title: 'source "bot"',
      type: "object",
      additionalProperties: true,
      required: ["user"],
      properties: {
        user: {
          type: "object",
          additionalProperties: true,
          required: ["email"],
          properties: { email: { type: "string", description: "the lead's address", "x-relay-variable": "email" } },
        },
        score: { type: "number", default: 0 },
        tags: { type: "array" },
      },
    });
  });

  test("a typed source offers one schema per envelope type", () => {
    const schema = sourceRequestSchema(config.sources.shop) as { oneOf: any[] };
    expect(schema.oneOf.map((s) => s.properties.type.const)).toEqual(["order", "customer", "product", "event"]);
    const order = schema.oneOf[0];
    expect(order.required).toEqual(["type", "order"]);
    expect(order.properties.order).toMatchObject({ type: "object", additionalProperties: true });
    expect(order.properties.order.required).toBeUndefined();
  });

  test("several sources: any one of them", () => {
    const schema = ingestRequestSchema(Object.values(config.sources)) as { oneOf: any[] };
    expect(schema.oneOf.map((s) => s.title)).toEqual(['source "bot"', 'source "shop"']);
  });
});

test("the OpenAPI document carries the sources' schemas but never their secret URL ids", async () => {
  const h = await startHarness(YAML);
  try {
    const res = await h.call("GET", "/api/openapi/json");
    const schema = res.json.paths["/api/webhook/{source}"].post.requestBody.content["application/json"].schema;
    expect(schema.oneOf.map((s: any) => s.title)).toEqual(['source "bot"', 'source "shop"']);
    expect(res.text).not.toContain("bot-secret-url-id");
    expect(res.text).not.toContain("shop-secret-url-id");
  } finally {
    await h.stop();
  }
});
