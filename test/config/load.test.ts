import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { loadConfig, parseConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { ConfigError, formatConfigIssue } from "../../src/errors.ts";
import { tempDir } from "../support/tmp.ts";

// A whsec secret whose base64 part decodes (24 bytes).
const WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const FULL = `
server: { host: 127.0.0.1, port: 9090, admin_token: "\${RELAY_ADMIN_TOKEN}" }
storage: { path: ./state/relay.db, retention: 7d }
sources:
  shop:
    id: shop-orders-7f3c9a
    kind: generic
    max_body: 1mb
    event_type: body.event.name
    require_api_key: true
    verify:
      preset: sha256
      secret: "\${SHOP_SECRET}"
      header: X-Aficial-Signature
      tolerance: 2m
    variables:
      - { name: email, type: string, required: true, description: "Customer email", path: customer.email }
      - { name: total, type: number, default: 0 }
  chat:
    kind: typed
    event_type: header.X-Chat-Event
    verify:
      secrets: ["${WHSEC}", "whsec_b2xkLXNlY3JldA=="]
  stripeish:
    event_type: source
    verify:
      preset: stripe
      secret: s3cret
destinations:
  crm:
    url: http://127.0.0.1:9000/hook
    headers: { Authorization: "Bearer \${CRM_TOKEN}", X-Version: 2 }
    timeout: 15s
    concurrency: 4
    retry: [1m, 3m]
    ack: { status: [200, "2xx"], body: '{"status":"success"}' }
    sign: { preset: standard-webhooks, secret: ${WHSEC} }
    event_header: X-Aficial-Event
    id_header: X-VAI-Webhook-ID
    timestamp_header: X-VAI-Timestamp
    user_agent: Acme/2
    digest: { cron: "0 6 * * *", timezone: Europe/Berlin, max_items: 500, send_empty: true, body: envelope }
  leads:
    url: https://leads.example.com/in
    retry: { attempts: 5, base: 2s, max: 10m, jitter: false }
    ack: { status: 201, body: ["ok", "OK"] }
    sign:
      signed_string: "{timestamp}:{body}"
      encoding: base64
      value_format: "ts={timestamp};{signatures}"
      signature_format: "s={signature}"
      header: X-Leads-Signature
      separator: ";"
      secret: raw-secret
  plain:
    url: https://example.org/plain
routes:
  - name: orders-to-crm
    from: shop
    when:
      type: ["order.*", "customer.created"]
      match:
        - { path: body.order.total, gte: 100 }
        - { path: headers.x-test, exists: false }
        - { path: body.order.currency, in: [EUR, USD] }
        - { path: body.order.status, not_equals: cancelled }
    to: [crm, leads]
    transform: envelope
  - from: [shop, chat]
    when: { type: chat.* }
    to: leads
    transform:
      template:
        Email: "{{webhook.body.email}}"
        Total: "{{webhook.body.order.total}}"
        Tags: [lead, web]
  - name: raw
    from: stripeish
    to: plain
    transform: passthrough
  - name: shaped
    from: chat
    to: plain
    transform: { jsonata: "$.{ 'id': body.id }" }
`;

const ENV = { RELAY_ADMIN_TOKEN: "admin-token", SHOP_SECRET: "shop-secret", CRM_TOKEN: "crm-token" };

function issuesOf(text: string, env: Record<string, string | undefined> = {}): string[] {
  try {
    parseConfig(text, "relay.yaml", env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatConfigIssue);
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

describe("parseConfig: the full example", () => {
  test("normalises every field", () => {
    const config = parseConfig(FULL, "conf/relay.yaml", ENV);
    const expected: Config = {
      file: resolve("conf/relay.yaml"),
      server: { host: "127.0.0.1", port: 9090, adminToken: "admin-token", commitTimeoutMs: 5000 },
      storage: { path: resolve("conf/state/relay.db"), retentionMs: 7 * 86_400_000, minFreeBytes: 64 * 1024 * 1024 },
      sources: {
        shop: {
          name: "shop",
          id: "shop-orders-7f3c9a",
          kind: "generic",
          maxBodyBytes: 1024 * 1024,
          maxDepth: 64,
          redactHeaders: [],
          eventType: { from: "body", path: "event.name" },
          requireApiKey: true,
          verify: {
            scheme: {
              preset: "sha256",
              header: "X-Aficial-Signature",
              signedString: "{body}",
              encoding: "hex",
              valueFormat: "{signatures}",
              signatureFormat: "sha256={signature}",
              separator: null,
              secretFormat: "raw",
              reserialized: true,
            },
            secrets: ["shop-secret"],
            toleranceMs: 120_000,
          },
          variables: [
            { name: "email", type: "string", required: true, description: "Customer email", path: "customer.email" },
            { name: "total", type: "number", required: false, path: "total", default: 0 },
          ],
        },
        chat: {
          name: "chat",
          kind: "typed",
          maxBodyBytes: 100 * 1024,
          maxDepth: 64,
          redactHeaders: [],
          eventType: { from: "header", name: "x-chat-event" },
          requireApiKey: false,
          verify: {
            scheme: {
              preset: "standard-webhooks",
              header: "webhook-signature",
              signedString: "{id}.{timestamp}.{body}",
              encoding: "base64",
              valueFormat: "{signatures}",
              signatureFormat: "v1,{signature}",
              separator: " ",
              idHeader: "webhook-id",
              timestampHeader: "webhook-timestamp",
              secretFormat: "whsec",
            },
            secrets: [WHSEC, "whsec_b2xkLXNlY3JldA=="],
            toleranceMs: 300_000,
          },
          variables: [],
        },
        stripeish: {
          name: "stripeish",
          kind: "generic",
          maxBodyBytes: 102_400,
          maxDepth: 64,
          redactHeaders: [],
          eventType: { from: "source" },
          requireApiKey: false,
          verify: {
            scheme: {
              preset: "stripe",
              header: "X-Webhook-Signature",
              signedString: "{timestamp}.{body}",
              encoding: "hex",
              valueFormat: "t={timestamp},{signatures}",
              signatureFormat: "v1={signature}",
              separator: ",",
              secretFormat: "raw",
              reserialized: true,
            },
            secrets: ["s3cret"],
            toleranceMs: 300_000,
          },
          variables: [],
        },
      },
      destinations: {
        crm: {
          name: "crm",
          url: "http://127.0.0.1:9000/hook",
          headers: { Authorization: "Bearer crm-token", "X-Version": "2" },
          timeoutMs: 15_000,
          concurrency: 4,
          retry: { kind: "schedule", delaysMs: [60_000, 180_000] },
          ack: { statuses: [[200, 200], [200, 299]], bodies: ['{"status":"success"}'] },
          sign: {
            scheme: {
              preset: "standard-webhooks",
              header: "webhook-signature",
              signedString: "{id}.{timestamp}.{body}",
              encoding: "base64",
              valueFormat: "{signatures}",
              signatureFormat: "v1,{signature}",
              separator: " ",
              idHeader: "webhook-id",
              timestampHeader: "webhook-timestamp",
              secretFormat: "whsec",
            },
            secrets: [WHSEC],
          },
          eventHeader: "X-Aficial-Event",
          idHeader: "X-VAI-Webhook-ID",
          timestampHeader: "X-VAI-Timestamp",
          userAgent: "Acme/2",
          disableAfterMs: 5 * 86_400_000,
          digest: { cron: "0 6 * * *", timezone: "Europe/Berlin", maxItems: 500, sendEmpty: true, body: "envelope" },
        },
        leads: {
          name: "leads",
          url: "https://leads.example.com/in",
          headers: {},
          timeoutMs: 10_000,
          concurrency: 10,
          retry: { kind: "exponential", attempts: 5, baseMs: 2_000, maxMs: 600_000, jitter: false },
          ack: { statuses: [[201, 201]], bodies: ["ok", "OK"] },
          sign: {
            scheme: {
              preset: "custom",
              header: "X-Leads-Signature",
              signedString: "{timestamp}:{body}",
              encoding: "base64",
              valueFormat: "ts={timestamp};{signatures}",
              signatureFormat: "s={signature}",
              separator: ";",
              secretFormat: "raw",
            },
            secrets: ["raw-secret"],
          },
          userAgent: `Relay/${pkg.version}`,
          disableAfterMs: 5 * 86_400_000,
        },
        plain: {
          name: "plain",
          url: "https://example.org/plain",
          headers: {},
          timeoutMs: 10_000,
          concurrency: 10,
          retry: { kind: "schedule", delaysMs: [5_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000] },
          ack: { statuses: [[200, 299]] },
          userAgent: `Relay/${pkg.version}`,
          disableAfterMs: 5 * 86_400_000,
        },
      },
      routes: [
        {
          name: "orders-to-crm",
          from: ["shop"],
          when: {
            types: ["order.*", "customer.created"],
            fields: [
              { path: "body.order.total", op: "gte", value: 100 },
              { path: "headers.x-test", op: "exists", value: false },
              { path: "body.order.currency", op: "in", value: ["EUR", "USD"] },
              { path: "body.order.status", op: "not_equals", value: "cancelled" },
            ],
          },
          to: ["crm", "leads"],
          transform: { mode: "envelope" },
        },
        {
          name: "routes[1]",
          from: ["shop", "chat"],
          when: { types: ["chat.*"], fields: [] },
          to: ["leads"],
          transform: {
            mode: "template",
            template: { Email: "{{webhook.body.email}}", Total: "{{webhook.body.order.total}}", Tags: ["lead", "web"] },
          },
        },
        {
          name: "raw",
          from: ["stripeish"],
          when: { types: [], fields: [] },
          to: ["plain"],
          transform: { mode: "passthrough" },
        },
        {
          name: "shaped",
          from: ["chat"],
          when: { types: [], fields: [] },
          to: ["plain"],
          transform: { mode: "jsonata", expression: "$.{ 'id': body.id }" },
        },
      ],
      egress: { mode: "default", allow: [], deny: [] },
    };
    expect(config).toEqual(expected);
  });

  test("the result is deeply frozen", () => {
    const config = parseConfig(FULL, "relay.yaml", ENV);
    for (const value of [
      config,
      config.server,
      config.sources,
      config.sources.shop.verify!.scheme,
      config.sources.shop.verify!.secrets,
      config.destinations.crm.headers,
      config.destinations.crm.ack.statuses[0],
      config.routes,
      config.routes[1].transform,
      (config.routes[1].transform as { template: { Tags: string[] } }).template.Tags,
    ]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => config.routes.push(config.routes[0])).toThrow(TypeError);
  });
});

describe("parseConfig: defaults", () => {
  const MINIMAL = `
sources:
  shop: {}
destinations:
  crm: { url: "http://127.0.0.1:9000/hook", digest: { cron: "*/5 * * * *" } }
routes:
  - { from: shop, to: crm }
`;

  test("a minimal file gets every documented default", () => {
    const config = parseConfig(MINIMAL, "/etc/relay/relay.yaml", {});
    expect(config.server).toEqual({ host: "0.0.0.0", port: 8080, commitTimeoutMs: 5000 });
    expect(config.storage).toEqual({ path: "/etc/relay/data/relay.db", retentionMs: 30 * 86_400_000, minFreeBytes: 64 * 1024 * 1024 });
    expect(config.sources.shop).toEqual({
      name: "shop",
      kind: "generic",
      maxBodyBytes: 102_400,
      maxDepth: 64,
      redactHeaders: [],
      eventType: { from: "body", path: "type" },
      requireApiKey: false,
      variables: [],
    });
    const crm = config.destinations.crm;
    expect(crm.timeoutMs).toBe(10_000);
    expect(crm.concurrency).toBe(10);
    expect(crm.retry).toEqual({ kind: "schedule", delaysMs: [5_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000] });
    expect(crm.ack).toEqual({ statuses: [[200, 299]] });
    expect(crm.userAgent).toBe(`Relay/${pkg.version}`);
    expect(crm.digest).toEqual({ cron: "*/5 * * * *", timezone: "UTC", maxItems: 1000, sendEmpty: false, body: "array" });
    expect(config.routes).toEqual([
      { name: "routes[0]", from: ["shop"], when: { types: [], fields: [] }, to: ["crm"], transform: { mode: "envelope" } },
    ]);
  });

  test("exponential retry defaults, verify and sign default to standard-webhooks", () => {
    const config = parseConfig(
      `
sources:
  s: { verify: { secret: ${WHSEC} } }
destinations:
  d: { url: "https://x.example/", retry: {}, sign: { secret: ${WHSEC}, header: X-Sig } }
`,
      "relay.yaml",
      {},
    );
    expect(config.destinations.d.retry).toEqual({ kind: "exponential", attempts: 8, baseMs: 5_000, maxMs: 3_600_000, jitter: true });
    expect(config.sources.s.verify?.scheme.preset).toBe("standard-webhooks");
    expect(config.sources.s.verify?.toleranceMs).toBe(300_000);
    expect(config.destinations.d.sign?.scheme).toMatchObject({ preset: "standard-webhooks", header: "X-Sig", idHeader: "webhook-id" });
    expect(config.routes).toEqual([]);
  });

  test("absolute storage paths and :memory: are kept; an empty admin token is left out", () => {
    const abs = parseConfig('storage: { path: /var/lib/relay/r.db }\nserver: { admin_token: "${T:-}" }', "x/relay.yaml", {});
    expect(abs.storage.path).toBe("/var/lib/relay/r.db");
    expect(abs.server).toEqual({ host: "0.0.0.0", port: 8080, commitTimeoutMs: 5000 });
    expect(parseConfig("storage: { path: ':memory:' }", "x/relay.yaml", {}).storage.path).toBe(":memory:");
  });

  test("the time zone is stored under its canonical name", () => {
    const config = parseConfig(
      'destinations: { d: { url: "http://h/", digest: { cron: "0 6 * * *", timezone: europe/berlin } } }',
      "relay.yaml",
      {},
    );
    expect(config.destinations.d.digest?.timezone).toBe("Europe/Berlin");
  });
});

describe("circuit breaker and metrics token", () => {
  test("circuit: given values, defaults for the rest, absent when not written", () => {
    const config = parseConfig(
      'server: { metrics_token: "${M:-}" }\ndestinations:\n  a: { url: "http://h/", circuit: { failures: 3, max_probe: 1h } }\n  b: { url: "http://h/" }\n',
      "relay.yaml",
      { M: "metrics" },
    );
    expect(config.server.metricsToken).toBe("metrics");
    expect(config.destinations.a.circuit).toEqual({ failures: 3, probeMs: 30_000, maxProbeMs: 3_600_000 });
    expect(config.destinations.b.circuit).toBeUndefined();
    expect(parseConfig('server: { metrics_token: "${M:-}" }', "relay.yaml", {}).server.metricsToken).toBeUndefined();
  });

  test("circuit: max_probe shorter than probe is refused", () => {
    expect(issuesOf('destinations:\n  a: { url: "http://h/", circuit: { probe: 5m, max_probe: 1m } }\n')).toEqual([
      "relay.yaml:2:59: destinations.a.circuit.max_probe: max_probe must not be shorter than probe",
    ]);
  });
});

describe("${ENV} interpolation", () => {
  const doc = (value: string) => `destinations:\n  d:\n    url: "http://h/"\n    headers:\n      X-A: ${value}\n`;
  const header = (value: string, env: Record<string, string | undefined>) =>
    parseConfig(doc(value), "relay.yaml", env).destinations.d.headers["X-A"];

  test("${NAME} is replaced, also inside a longer string", () => {
    expect(header('"Bearer ${TOKEN}"', { TOKEN: "abc" })).toBe("Bearer abc");
    expect(header("${A}-${B}", { A: "1", B: "2" })).toBe("1-2");
  });

  test("${NAME:-default} applies when the variable is unset or empty", () => {
    expect(header('"${A:-b}"', {})).toBe("b");
    expect(header('"${A:-b}"', { A: "" })).toBe("b");
    expect(header('"${A:-b}"', { A: "set" })).toBe("set");
    expect(header('"${A:-}"', {})).toBe("");
    expect(header('"${A:-http://x:1/y}"', {})).toBe("http://x:1/y");
  });

  test("$${ writes a literal ${ and reads no variable", () => {
    expect(header('"$${NOT_A_VAR}"', {})).toBe("${NOT_A_VAR}");
    expect(header('"cost: $5 and $${X} and ${Y}"', { Y: "y" })).toBe("cost: $5 and ${X} and y");
  });

  test("an unquoted value that becomes a number is a number; a quoted one stays a string", () => {
    const config = parseConfig('server:\n  port: ${PORT}\nsources: { s: { id: "${ID}" } }', "relay.yaml", { PORT: "9000", ID: "123" });
    expect(config.server.port).toBe(9000);
    expect(config.sources.s.id).toBe("123");
  });

  test("a missing variable is named, with its line and key path; every one is reported", () => {
    expect(
      issuesOf(
        'server:\n  admin_token: "${RELAY_ADMIN_TOKEN}"\ndestinations:\n  d:\n    url: "${CRM_URL}"\n    headers: { Authorization: "Bearer ${CRM_TOKEN}" }\n',
      ),
    ).toEqual([
      'relay.yaml:2:16: server.admin_token: environment variable "RELAY_ADMIN_TOKEN" is not set',
      'relay.yaml:5:10: destinations.d.url: environment variable "CRM_URL" is not set',
      'relay.yaml:6:31: destinations.d.headers.Authorization: environment variable "CRM_TOKEN" is not set',
    ]);
  });

  test("a missing secret is reported once, not again as an empty secret", () => {
    expect(issuesOf('sources:\n  s:\n    verify: { preset: sha256, secret: "${SHOP_SECRET}" }\n')).toEqual([
      'relay.yaml:3:39: sources.s.verify.secret: environment variable "SHOP_SECRET" is not set',
    ]);
  });

  test("malformed references are issues", () => {
    expect(issuesOf(doc('"${1BAD}"'))).toEqual([
      'relay.yaml:5:12: destinations.d.headers.X-A: invalid reference "${1BAD}": use ${NAME} or ${NAME:-default} (write "$${" for a literal "${")',
    ]);
    expect(issuesOf(doc('"${OPEN"'))).toEqual([
      'relay.yaml:5:12: destinations.d.headers.X-A: unterminated "${" (write "$${" for a literal "${")',
    ]);
  });

  test("a number from ${...} where a string is expected gets a quoting hint", () => {
    expect(issuesOf("sources:\n  s:\n    verify:\n      preset: hex\n      secret: ${S}\n", { S: "12345" })).toEqual([
      "relay.yaml:5:15: sources.s.verify.secret: expected a string, got the number 12345 (the value came from ${...}; quote it to keep it a string)",
    ]);
  });

  test("unquoted ${...} inside a flow map is a syntax error with a quoting hint", () => {
    const [first, ...rest] = issuesOf("server: { admin_token: ${T} }\n", { T: "t" });
    expect(first).toStartWith("relay.yaml:1:");
    expect(first).toEndWith(' (quote values that use ${...}, e.g. secret: "${SECRET}")');
    expect(rest).toEqual([]);
  });
});

describe("YAML features", () => {
  test("anchors, aliases and << merge keys; keys written in the map win", () => {
    const text = [
      "destinations:",
      "  crm: &defaults",
      "    url: http://crm.example/hook",
      "    timeout: 5s",
      "    retry: &fast [1s, 2s]",
      "  backup:",
      "    <<: *defaults",
      "    url: http://backup.example/hook",
      "    timeot: 1s",
      "  other: { url: http://o.example/, retry: *fast }",
    ].join("\n");
    expect(issuesOf(text)).toEqual(['relay.yaml:9:5: destinations.backup.timeot: unknown key "timeot" (did you mean "timeout"?)']);
    const config = parseConfig(text.replace("timeot", "timeout"), "relay.yaml", {});
    expect(config.destinations.backup).toMatchObject({ url: "http://backup.example/hook", timeoutMs: 1000 });
    expect(config.destinations.backup.retry).toEqual({ kind: "schedule", delaysMs: [1000, 2000] });
    expect(config.destinations.other.retry).toEqual({ kind: "schedule", delaysMs: [1000, 2000] });
  });

  test("an error inside merged keys points at the anchor", () => {
    const text = ["destinations:", "  a: &d", "    url: http://a/", "    timeout: soon", "  b:", "    <<: *d", "    url: http://b/"].join("\n");
    expect(issuesOf(text)).toEqual([
      'relay.yaml:4:14: destinations.a.timeout: invalid duration "soon": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"',
      'relay.yaml:4:14: destinations.b.timeout: invalid duration "soon": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"',
    ]);
  });

  test('a key named "__proto__" stays a plain key', () => {
    const config = parseConfig('destinations:\n  d:\n    url: http://h/\n    headers: { "__proto__": x }\n', "relay.yaml", {});
    expect(Object.getPrototypeOf(config.destinations.d.headers)).toBe(Object.prototype);
    expect(Object.keys(config.destinations.d.headers)).toEqual(["__proto__"]);
  });
});

describe("loadConfig", () => {
  test("reads the file, resolves storage.path against its folder, records the absolute file", () => {
    const { dir, cleanup } = tempDir();
    try {
      mkdirSync(join(dir, "etc"));
      const file = join(dir, "etc", "relay.yaml");
      writeFileSync(file, "storage: { path: ../db/relay.db }\nserver:\n  port: ${P}\n");
      const config = loadConfig(file, { P: "8181" });
      expect(config.file).toBe(file);
      expect(config.storage.path).toBe(join(dir, "db", "relay.db"));
      expect(config.server.port).toBe(8181);
    } finally {
      cleanup();
    }
  });

  test("uses process.env by default", () => {
    const { dir, cleanup } = tempDir();
    const name = "RELAY_CONFIG_TEST_TOKEN";
    process.env[name] = "from-process-env";
    try {
      const file = join(dir, "relay.yaml");
      writeFileSync(file, `server: { admin_token: "\${${name}}" }\n`);
      expect(loadConfig(file).server.adminToken).toBe("from-process-env");
    } finally {
      delete process.env[name];
      cleanup();
    }
  });

  test("a missing file is a ConfigError naming the file", () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, "nope.yaml");
      expect(() => loadConfig(file, {})).toThrow(`${file}: cannot read the config: file not found`);
      expect(() => loadConfig(file, {})).toThrow(ConfigError);
    } finally {
      cleanup();
    }
  });

  test("issues name the file as it was given", () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, "relay.yaml");
      writeFileSync(file, "server:\n  prot: 80\n");
      expect(() => loadConfig(file, {})).toThrow(`${file}:2:3: server.prot: unknown key "prot" (did you mean "port"?)`);
    } finally {
      cleanup();
    }
  });
});
