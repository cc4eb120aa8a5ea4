import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { schemaJson } from "../../src/config/emit-schema.ts";
import { RelayYamlSchema } from "../../src/config/schema.ts";

const committed = new URL("../../config/relay.schema.json", import.meta.url);

describe("config/relay.schema.json", () => {
  test("the committed file equals the freshly generated one (run: bun src/config/emit-schema.ts)", () => {
    expect(readFileSync(committed, "utf8")).toBe(schemaJson());
  });

  test("is plain JSON Schema with a title, and no unknown key is allowed at the top", () => {
    const json = JSON.parse(schemaJson());
    expect(json.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(json.title).toBe("relay.yaml");
    expect(json.additionalProperties).toBe(false);
    expect(Object.keys(json.properties)).toEqual(["server", "storage", "sources", "destinations", "routes", "egress"]);
  });

  test("every field of every map has a description", () => {
    const missing: string[] = [];
    const visit = (schema: any, at: string) => {
      if (!schema || typeof schema !== "object") return;
      for (const [key, value] of Object.entries<any>(schema.properties ?? {})) {
        if (typeof value.description !== "string" || value.description.length < 10) missing.push(`${at}.${key}`);
        visit(value, `${at}.${key}`);
      }
      for (const value of Object.values<any>(schema.patternProperties ?? {})) visit(value, `${at}.*`);
      for (const variant of schema.anyOf ?? []) visit(variant, at);
      if (schema.items) visit(schema.items, `${at}[]`);
    };
    visit(RelayYamlSchema, "");
    expect(missing).toEqual([]);
  });

  test("descriptions of optional fields with a default state it", () => {
    const json = JSON.parse(schemaJson());
    const destination = json.properties.destinations.patternProperties["^(.*)$"].properties;
    expect(destination.timeout.description).toContain("Default 10s");
    expect(destination.retry.description).toContain("Default [5s, 1m, 5m, 30m, 2h, 6h, 12h]");
    expect(destination.concurrency.description).toContain("Default 10");
    expect(json.properties.storage.properties.retention.description).toContain("Default 30d");
  });
});
