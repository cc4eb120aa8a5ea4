import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/load.ts";
import { ConfigError, formatConfigIssue } from "../../src/errors.ts";

// Every class of mistake is reported with file:line:column, the key path and a readable message.

const WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

function issuesOf(text: string, env: Record<string, string | undefined> = {}): string[] {
  try {
    parseConfig(text, "relay.yaml", env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatConfigIssue);
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

/** A valid config with one source `shop` and one destination `crm`, plus whatever `extra` adds (YAML lines). */
function withBase(extra: string): string {
  return `sources:\n  shop: {}\ndestinations:\n  crm: { url: "http://127.0.0.1:9000/hook" }\n${extra}`;
}

describe("references", () => {
  test("an unknown destination points at the value, with the key path", () => {
    const text = [
      "sources:", //  1
      "  shop: {}", //  2
      "  chat: {}", //  3
      "destinations:", //  4
      "  crm-eu:", //  5
      "    url: http://127.0.0.1:9000/hook", //  6
      "routes:", //  7
      "  - from: shop", //  8
      "    to: crm-eu", //  9
      "  - from: chat", // 10
      "    to: crm-eu", // 11
      "  - name: leads", // 12
      "    from: chat", // 13
      "    to: crm", // 14
    ].join("\n");
    expect(issuesOf(text)).toEqual(['relay.yaml:14:9: routes[2].to: unknown destination "crm"']);
  });

  test("unknown names inside lists get their index and a suggestion", () => {
    expect(issuesOf(withBase("routes:\n  - from: [shop, shp]\n    to: [crm, crm]\n"))).toEqual([
      'relay.yaml:6:18: routes[0].from[1]: unknown source "shp" (did you mean "shop"?)',
      'relay.yaml:7:15: routes[0].to[1]: destination "crm" is listed twice',
    ]);
  });

  test("duplicate route names and duplicate source ids", () => {
    const text = [
      "sources:",
      "  a: { id: fixed-1 }",
      "  b: { id: fixed-1 }",
      "destinations:",
      "  crm: { url: http://h/ }",
      "routes:",
      "  - { name: r, from: a, to: crm }",
      "  - { name: r, from: b, to: crm }",
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      'relay.yaml:3:12: sources.b.id: id "fixed-1" is already used by source "a"',
      'relay.yaml:8:13: routes[1].name: duplicate route name "r" (also routes[0])',
    ]);
  });

  test("invalid source and destination names point at the key", () => {
    expect(issuesOf('sources:\n  "my shop": {}\ndestinations:\n  _crm: { url: "http://h/" }\n')).toEqual([
      'relay.yaml:2:3: sources["my shop"]: invalid source name "my shop": use letters, digits, "_" and "-", starting with a letter or digit',
      'relay.yaml:4:3: destinations._crm: invalid destination name "_crm": use letters, digits, "_" and "-", starting with a letter or digit',
    ]);
  });
});

describe("shape", () => {
  test("an unknown key points at the key and suggests the near one", () => {
    expect(issuesOf('destinations:\n  crm:\n    url: "http://h/"\n    timout: 10s\n    colour: red\n')).toEqual([
      'relay.yaml:4:5: destinations.crm.timout: unknown key "timout" (did you mean "timeout"?)',
      'relay.yaml:5:5: destinations.crm.colour: unknown key "colour"',
    ]);
  });

  test("a missing required key points at the map that lacks it", () => {
    expect(issuesOf("destinations:\n  crm:\n    timeout: 5s\nroutes:\n  - { from: x }\n")).toEqual([
      'relay.yaml:3:5: destinations.crm: missing required key "url"',
      'relay.yaml:5:5: routes[0]: missing required key "to"',
    ]);
  });

  test("wrong types and out-of-range numbers", () => {
    const text = [
      "server:",
      "  port: 70000",
      "  host: [a]",
      "sources:",
      "  shop:",
      "    require_api_key: yes",
      "    kind: generik",
      "destinations:",
      "  crm:",
      "    url: http://h/",
      "    concurrency: 0",
      "    retry: 5s",
      "    ack: { status: [200, {}] }",
      "routes: {}",
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      "relay.yaml:2:9: server.port: must be at most 65535, got 70000",
      "relay.yaml:3:9: server.host: expected a string, got a list",
      "relay.yaml:6:22: sources.shop.require_api_key: expected true or false, got a string",
      'relay.yaml:7:11: sources.shop.kind: unknown value "generik": expected one of "generic", "typed" (did you mean "generic"?)',
      "relay.yaml:11:18: destinations.crm.concurrency: must be at least 1, got 0",
      "relay.yaml:12:12: destinations.crm.retry: expected a list or a map, got a string",
      'relay.yaml:13:26: destinations.crm.ack.status[1]: expected a status such as 200 or a class such as "2xx", got a map',
      "relay.yaml:14:9: routes: expected a list, got a map",
    ]);
  });

  test("an empty value where a map is expected", () => {
    expect(issuesOf("sources:\n  shop:\n")).toEqual(["relay.yaml:2:3: sources.shop: expected a map, got an empty value"]);
  });

  test("a file that is empty or not a map", () => {
    expect(issuesOf("# nothing yet\n")).toEqual(["relay.yaml: the file is empty: expected a map with sources, destinations and routes"]);
    expect(issuesOf("- a\n- b\n")).toEqual(["relay.yaml:1:1: expected a map, got a list"]);
  });

  test("transforms: unknown mode, both keys, no key", () => {
    const text = withBase(
      [
        "routes:",
        "  - { from: shop, to: crm, transform: envelop }",
        "  - { from: shop, to: crm, transform: { template: {}, jsonata: x } }",
        "  - { from: shop, to: crm, transform: { templat: {} } }",
      ].join("\n"),
    );
    expect(issuesOf(text)).toEqual([
      'relay.yaml:6:39: routes[0].transform: unknown value "envelop": expected one of "envelope", "passthrough", or a map (did you mean "envelope"?)',
      'relay.yaml:7:39: routes[1].transform: expected a map with exactly one of the keys "template", "jsonata"',
      'relay.yaml:8:39: routes[2].transform: expected a map with exactly one of the keys "template", "jsonata"',
    ]);
  });
});

describe("syntax", () => {
  test("a YAML syntax error is reported with its line", () => {
    expect(issuesOf("routes: []\nsources: {}\nroutes: []\n")).toEqual(["relay.yaml:3:1: YAML syntax error: Map keys must be unique"]);
  });

  test("a bad indent is reported once per line", () => {
    const issues = issuesOf("sources:\n  shop:\n    kind: generic\n   max_body: 1mb\n");
    expect(issues).toHaveLength(1);
    expect(issues[0]).toStartWith("relay.yaml:4:");
    expect(issues[0]).toContain("YAML syntax error:");
  });
});

describe("units", () => {
  test("durations and sizes that do not parse", () => {
    const text = [
      "storage: { retention: 30x }",
      "sources:",
      '  shop: { max_body: "100" }',
      "destinations:",
      "  crm: { url: http://h/, timeout: 0, retry: [1m, 3 minutes] }",
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      'relay.yaml:1:23: storage.retention: invalid duration "30x": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"',
      'relay.yaml:3:21: sources.shop.max_body: size "100" needs a unit: b, kb, mb or gb (e.g. "100kb")',
      'relay.yaml:5:35: destinations.crm.timeout: duration 0 needs a unit: ms, s, m, h or d (did you mean "0s"?)',
      'relay.yaml:5:50: destinations.crm.retry[1]: invalid duration "3 minutes": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"',
    ]);
  });

  test("retry: an empty schedule, zero attempts, max below base", () => {
    const text = [
      "destinations:",
      "  a: { url: http://h/, retry: [] }",
      "  b: { url: http://h/, retry: { attempts: 0 } }",
      "  c: { url: http://h/, retry: { base: 1m, max: 5s } }",
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      "relay.yaml:2:31: destinations.a.retry: must not be an empty list",
      "relay.yaml:3:43: destinations.b.retry.attempts: must be at least 1, got 0",
      "relay.yaml:4:48: destinations.c.retry.max: max must not be shorter than base",
    ]);
  });
});

describe("digests", () => {
  test("an invalid cron expression", () => {
    expect(issuesOf('destinations:\n  crm:\n    url: http://h/\n    digest: { cron: "0 25 * * *" }\n')).toEqual([
      'relay.yaml:4:21: destinations.crm.digest.cron: invalid cron expression "0 25 * * *": Invalid value for hour: 25',
    ]);
    expect(issuesOf('destinations:\n  crm:\n    url: http://h/\n    digest: { cron: "every day" }\n')[0]).toStartWith(
      'relay.yaml:4:21: destinations.crm.digest.cron: invalid cron expression "every day": ',
    );
  });

  test("a date is not a schedule; a schedule that never fires is refused", () => {
    expect(issuesOf('destinations:\n  crm:\n    url: http://h/\n    digest: { cron: "2030-01-01T00:00:00" }\n')).toEqual([
      'relay.yaml:4:21: destinations.crm.digest.cron: invalid cron expression "2030-01-01T00:00:00": expected 5 fields (or 6 with seconds), e.g. "0 6 * * *"',
    ]);
    expect(issuesOf('destinations:\n  crm:\n    url: http://h/\n    digest: { cron: "0 0 31 2 *" }\n')).toEqual([
      'relay.yaml:4:21: destinations.crm.digest.cron: cron expression "0 0 31 2 *" never fires',
    ]);
  });

  test("an unknown time zone, with a suggestion", () => {
    expect(issuesOf('destinations:\n  crm:\n    url: http://h/\n    digest: { cron: "0 6 * * *", timezone: Europe/Berln }\n')).toEqual([
      'relay.yaml:4:44: destinations.crm.digest.timezone: unknown time zone "Europe/Berln" (did you mean "Europe/Berlin"?)',
    ]);
    expect(issuesOf('destinations:\n  crm:\n    url: http://h/\n    digest: { cron: "0 6 * * *", timezone: Mars/Olympus }\n')).toEqual([
      'relay.yaml:4:44: destinations.crm.digest.timezone: unknown time zone "Mars/Olympus"',
    ]);
  });
});

describe("signatures", () => {
  test("an unknown preset, with a suggestion", () => {
    expect(issuesOf("sources:\n  shop:\n    verify: { preset: sha265, secret: s }\n")).toEqual([
      'relay.yaml:3:23: sources.shop.verify.preset: unknown value "sha265": expected one of "standard-webhooks", "sha256", "stripe", "hex" (did you mean "sha256"?)',
    ]);
  });

  test("secret: missing, both forms, empty, not base64 for whsec", () => {
    const text = [
      "sources:",
      "  a: { verify: { preset: sha256 } }",
      "  b: { verify: { preset: sha256, secret: x, secrets: [y] } }",
      '  c: { verify: { preset: sha256, secret: "${EMPTY:-}" } }',
      '  d: { verify: { preset: standard-webhooks, secret: "whsec_not base64!" } }',
      `  e: { verify: { preset: standard-webhooks, secrets: [${WHSEC}, ""] } }`,
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      'relay.yaml:2:16: sources.a.verify: missing required key "secret" (or "secrets" during a rotation)',
      'relay.yaml:3:16: sources.b.verify: give either "secret" or "secrets", not both',
      "relay.yaml:4:42: sources.c.verify.secret: secret is empty",
      "relay.yaml:5:53: sources.d.verify.secret: whsec secret is not base64",
      "relay.yaml:6:95: sources.e.verify.secrets[1]: secret is empty",
    ]);
  });

  test("a custom scheme needs every format field, and a coherent one", () => {
    const text = [
      "destinations:",
      "  a:",
      "    url: http://h/",
      "    sign: { signed_string: '{body}', encoding: hex, secret: s }",
      "  b:",
      "    url: http://h/",
      "    sign:",
      "      header: X-Sig",
      "      signed_string: '{timestamp}'",
      "      encoding: hex",
      "      value_format: '{signatures}'",
      "      signature_format: '{signature}'",
      "      secret: s",
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      'relay.yaml:4:11: destinations.a.sign: a custom signature scheme (no preset) needs "header", "value_format", "signature_format"; or name a preset',
      "relay.yaml:8:7: destinations.b.sign: signature scheme: signed_string must contain {body}",
    ]);
  });

  test("preset fields can be overridden, and a bad header name is caught", () => {
    expect(issuesOf('sources:\n  shop:\n    verify: { preset: hex, secret: s, header: "X Sig" }\n')).toEqual([
      'relay.yaml:3:47: sources.shop.verify.header: invalid value "X Sig": expected a valid HTTP header name',
    ]);
  });
});

describe("routes", () => {
  test("conditions: path prefix, no operator, several operators", () => {
    const text = withBase(
      [
        "routes:",
        "  - from: shop",
        "    to: crm",
        "    when:",
        "      match:",
        "        - { path: order.total, gte: 100 }",
        "        - { path: body.total }",
        "        - { path: body.total, gte: 1, lt: 5 }",
      ].join("\n"),
    );
    expect(issuesOf(text)).toEqual([
      'relay.yaml:10:19: routes[0].when.match[0].path: condition path "order.total" must start with "body." or "headers."',
      "relay.yaml:11:11: routes[0].when.match[1]: condition needs one operator: equals, not_equals, in, exists, gt, gte, lt, lte",
      "relay.yaml:12:11: routes[0].when.match[2]: condition has 2 operators (gte, lt); give each its own condition",
    ]);
  });

  test("a JSONata expression that does not compile", () => {
    expect(issuesOf(withBase('routes:\n  - { from: shop, to: crm, transform: { jsonata: "$.(" } }\n'))).toEqual([
      'relay.yaml:6:50: routes[0].transform.jsonata: invalid JSONata expression: S0203: Expected ")" before end of expression (at position 3)',
    ]);
  });

  test("template placeholders are checked", () => {
    const issues = issuesOf(withBase('routes:\n  - from: shop\n    to: crm\n    transform:\n      template: { a: "{{webhook.body.x | nope}}" }\n'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toStartWith('relay.yaml:9:17: routes[0].transform.template: a: unknown filter "nope"');
  });

  test("destination URLs must be absolute http(s)", () => {
    expect(issuesOf("destinations:\n  a: { url: ftp://h/x }\n  b: { url: /hook }\n")).toEqual([
      'relay.yaml:2:13: destinations.a.url: unsupported scheme "ftp": expected http or https',
      "relay.yaml:3:13: destinations.b.url: not an absolute URL: expected http://… or https://…",
    ]);
  });

  test("a rejected value that carries credentials is echoed without them", () => {
    const text = 'storage:\n  postgres: { url: "postgress://relay:pg-S3cret@db:5432/relay" }\n';
    expect(issuesOf(text)).toEqual([
      'relay.yaml:2:20: storage.postgres.url: invalid value "postgress://***@db:5432/relay": expected a URL starting with postgres:// or postgresql://',
    ]);
    const env = { CRM_URL: "http://ops:crm-t0ken@crm .example/hook" };
    const issues = issuesOf('destinations:\n  crm: { url: "${CRM_URL}", timeout: "http://a:b@x" }\n', env).join("\n");
    expect(issues).not.toContain("crm-t0ken");
    expect(issues).not.toContain("a:b");
  });

  test("variables: a default of the wrong type, a duplicate name", () => {
    const text = [
      "sources:",
      "  shop:",
      "    variables:",
      "      - { name: total, type: number, default: lots }",
      "      - { name: total, type: number }",
    ].join("\n");
    expect(issuesOf(text)).toEqual([
      "relay.yaml:4:47: sources.shop.variables[0].default: default must be of type number, got string",
      'relay.yaml:5:17: sources.shop.variables[1].name: duplicate variable "total"',
    ]);
  });
});

describe("many problems at once", () => {
  test("every problem is reported, in file order, in one ConfigError", () => {
    const text = [
      "server:", //  1
      "  port: 0", //  2
      "sources:", //  3
      "  shop:", //  4
      "    max_body: lots", //  5
      "destinations:", //  6
      "  crm:", //  7
      '    url: "${CRM_URL}"', //  8
      "    timout: 5s", //  9
      "    digest: { cron: '0 6 * * *', timezone: Mars/Olympus }", // 10
      "routes:", // 11
      "  - from: shp", // 12
      "    to: crm", // 13
      "    transform: { jsonata: '$.(' }", // 14
    ].join("\n");
    let error: unknown;
    try {
      parseConfig(text, "relay.yaml", {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map((i) => [i.line, i.column, i.path])).toEqual([
      [2, 9, "server.port"],
      [5, 15, "sources.shop.max_body"],
      [8, 10, "destinations.crm.url"],
      [9, 5, "destinations.crm.timout"],
      [10, 44, "destinations.crm.digest.timezone"],
      [12, 11, "routes[0].from"],
      [14, 27, "routes[0].transform.jsonata"],
    ]);
    expect(issues.every((i) => i.file === "relay.yaml")).toBe(true);
    expect((error as ConfigError).message.split("\n")).toEqual(issues.map(formatConfigIssue));
    expect((error as ConfigError).message).toContain('routes[0].from: unknown source "shp" (did you mean "shop"?)');
  });

  test("secrets never appear in messages", () => {
    const issues = issuesOf('sources:\n  s: { verify: { preset: standard-webhooks, secret: "whsec_TOP SECRET VALUE" } }\n').join("\n");
    expect(issues).toContain("whsec secret is not base64");
    expect(issues).not.toContain("TOP SECRET");
  });
});

describe("relay check refuses what is surely a mistake", () => {
  const check = (yaml: string) => issuesOf(yaml);

  test("a duration without a unit asks whether seconds were meant", () => {
    const problems = check(`
sources: { a: {} }
destinations:
  d: { url: "http://127.0.0.1:9/x", timeout: 10, retry: [1m, "3"], circuit: { probe: 30 } }
routes: [{ from: a, to: d }]
`);
    expect(problems).toEqual([
      'relay.yaml:4:46: destinations.d.timeout: duration 10 needs a unit: ms, s, m, h or d (did you mean "10s"?)',
      'relay.yaml:4:62: destinations.d.retry[1]: duration "3" needs a unit: ms, s, m, h or d (did you mean "3s"?)',
      'relay.yaml:4:86: destinations.d.circuit.probe: duration 30 needs a unit: ms, s, m, h or d (did you mean "30s"?)',
    ]);
  });

  test("a template naming a variable its source does not declare", () => {
    const problems = check(`
sources:
  flow:
    variables: [{ name: order_id, type: string }]
  other: {}
destinations: { d: { url: "http://127.0.0.1:9/x" } }
routes:
  - { from: flow, to: d, transform: { template: { id: "{{ webhook.order_idd }}", ok: "{{ webhook.order_id | upper }}" } } }
  - { from: [flow, other], to: d, transform: { template: ["{{ webhook.order_id }}", "{{ webhook.body.anything }}"] } }
`);
    expect(problems).toEqual([
      'relay.yaml:8:49: routes[0].transform.template: id: webhook.order_idd is not a variable of source "flow" (did you mean webhook.order_id?)',
      'relay.yaml:9:58: routes[1].transform.template: [0]: webhook.order_id is not a variable of source "other"; declare it there too, or use webhook.body.<path>',
    ]);
  });

  test("a max_body above what the server ever reads", () => {
    const problems = check(`
sources: { a: { max_body: 32mb }, b: { max_body: 16mb } }
destinations: { d: { url: "http://127.0.0.1:9/x" } }
routes: [{ from: [a, b], to: d }]
`);
    expect(problems).toEqual(["relay.yaml:2:27: sources.a.max_body: 32mb is above the 16mb the server accepts for any request"]);
  });
});
