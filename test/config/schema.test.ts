import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DEFAULTS } from "../../src/config/defaults.ts";
import { schemaJson } from "../../src/config/emit-schema.ts";
import { RelayYamlSchema } from "../../src/config/schema.ts";
import { signaturePresets } from "../../src/signing/presets.ts";

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

describe("one table of defaults", () => {
  const json = JSON.parse(schemaJson());
  /** The schema of a key path under a node, through maps, lists and alternatives. */
  const find = (node: any, keys: string[]): any => {
    if (!node || typeof node !== "object") return undefined;
    if (keys.length === 0) return node;
    const [key, ...rest] = keys;
    const direct = node.properties?.[key];
    if (direct) {
      const hit = find(direct, rest);
      if (hit) return hit;
    }
    for (const next of [...Object.values<any>(node.patternProperties ?? {}), ...(node.anyOf ?? []), node.items]) {
      const hit = find(next, keys);
      if (hit) return hit;
    }
    return undefined;
  };
  const destination = json.properties.destinations.patternProperties["^(.*)$"];

  test("the schema's defaults are the table's", () => {
    expect(find(json, ["server", "port"]).default).toBe(DEFAULTS.port);
    expect(find(destination, ["timeout"]).default).toBe(DEFAULTS.timeout);
    expect(find(destination, ["concurrency"]).default).toBe(DEFAULTS.concurrency);
    expect(find(destination, ["circuit", "probe"]).default).toBe(DEFAULTS.circuit.probe);
    expect(find(destination, ["retry"]).description).toContain(`Default [${DEFAULTS.retry.join(", ")}].`);
    expect(find(destination, ["digest", "timezone"]).default).toBe(DEFAULTS.digest.timezone);
  });

  test("every description that names a default names the schema's own", () => {
    const wrong: string[] = [];
    const visit = (node: any, at: string) => {
      if (!node || typeof node !== "object") return;
      if (node.default !== undefined && typeof node.description === "string") {
        const said = /Default ([^ ]+?)\.$/.exec(node.description)?.[1];
        if (said !== undefined && said.replace(/^"|"$/g, "") !== String(node.default)) wrong.push(`${at}: ${said} vs ${node.default}`);
      }
      for (const [key, value] of Object.entries<any>(node.properties ?? {})) visit(value, `${at}.${key}`);
      for (const value of [...Object.values<any>(node.patternProperties ?? {}), ...(node.anyOf ?? []), node.items]) visit(value, at);
    };
    visit(json, "");
    expect(wrong).toEqual([]);
  });

  test("the signature header a preset uses by default is the one its description names", () => {
    const header = find(json, ["sources", "verify", "header"]).description as string;
    for (const [name, preset] of Object.entries(signaturePresets)) expect(header).toContain(`${name}: ${preset.header}`);
  });

  test("the README's reference tables state the same defaults as the schema", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const sections: Array<[string, any]> = [
      ["### `server`", json.properties.server],
      ["### `storage`", json.properties.storage],
      ["### `sources`", json.properties.sources],
      ["### `destinations`", destination],
      ["### `routes`", json.properties.routes],
      ["### `egress`", json.properties.egress],
    ];
    const compared: string[] = [];
    const wrong: string[] = [];
    for (const [heading, schema] of sections) {
      const start = readme.indexOf(heading);
      expect(start).toBeGreaterThan(-1);
      for (const row of readme.slice(start).split("\n").slice(1)) {
        if (row.startsWith("#")) break;
        const cells = /^\| `([^`]+)` \| [^|]*(?:\\\|[^|]*)* \| ([^|]+) \|/.exec(row);
        if (!cells) continue;
        const field = find(schema, cells[1].replace(/\[\]/g, "").split("."));
        if (field?.default === undefined) continue;
        compared.push(cells[1]);
        const said = cells[2].trim().replace(/`/g, "").replace(/^"|"$/g, "");
        if (said !== String(field.default)) wrong.push(`${heading} ${cells[1]}: README ${said}, schema ${field.default}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(compared).toContain("timeout");
    expect(compared).toContain("circuit.max_probe");
    expect(compared.length).toBeGreaterThan(20);
  });

  test("every key of the schema has a row in the README's reference", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const rowsUnder = (heading: string) => {
      const rows = new Set<string>();
      for (const row of readme.slice(readme.indexOf(heading)).split("\n").slice(1)) {
        if (row.startsWith("#")) break;
        const key = /^\| `([^`]+)`/.exec(row)?.[1];
        if (key) rows.add(key);
      }
      return rows;
    };
    /** Dotted key paths (`retry.base`, `variables[].name`) under a node, through maps, lists and alternatives. */
    const keysOf = (node: any, prefix = ""): string[] => {
      if (!node || typeof node !== "object") return [];
      if (node.anyOf) return [...new Set<string>(node.anyOf.flatMap((n: any) => keysOf(n, prefix)))];
      if (node.patternProperties) return keysOf(Object.values(node.patternProperties)[0], prefix);
      if (node.properties) return Object.entries(node.properties).flatMap(([k, v]) => [prefix + k, ...keysOf(v, `${prefix}${k}.`)]);
      if (node.items) return keysOf(node.items, prefix.replace(/\.$/, "[]."));
      return [];
    };
    const signatures = rowsUnder("### Signatures");
    const missing: string[] = [];
    for (const section of ["server", "storage", "egress", "sources", "destinations", "routes"]) {
      const rows = rowsUnder(`### \`${section}\``);
      for (const key of keysOf(json.properties[section])) {
        const [head, ...rest] = key.split(".");
        // verify/sign keys are in the Signatures table; the condition operators and transform forms share one row.
        if ((head === "verify" || head === "sign") && rest.length > 0 && signatures.has(rest.join("."))) continue;
        if (key.startsWith("when.match[].") || key.startsWith("transform.")) continue;
        if (!rows.has(key) && ![...rows].some((r) => r.startsWith(`${key}.`))) missing.push(`${section}: ${key}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
