import { type Static, Type } from "@sinclair/typebox";
import { presetNames, signaturePresets } from "../signing/presets.ts";
import { DEFAULTS } from "./defaults.ts";
import {
  duration,
  EVENT_TYPE_PATTERN,
  HEADER_NAME_PATTERN,
  headerName,
  literals,
  NAME_PATTERN,
  oneOrMany,
  POSTGRES_URL_PATTERN,
  quoted,
  shown,
  size,
  SOURCE_ID_PATTERN,
  STATUS_PATTERN,
  VARIABLE_NAME_PATTERN,
} from "./schema-kit.ts";

// The raw relay.yaml as an admin writes it; config/relay.schema.json is generated from this.

const Preset = literals(
  presetNames,
  'Signature preset: "standard-webhooks" (webhook-id/-timestamp/-signature, v1,<base64>, whsec_ secrets), "sha256" (sha256=<hex> of the body), "stripe" (t=<unix>,v1=<hex> over "<t>.<body>") or "hex" (bare hex of the body). Default "standard-webhooks" when no custom scheme field is given; omit it and give header, signed_string, encoding, value_format and signature_format for a custom scheme.',
);

// Fields of the one HMAC-SHA256 mechanism; each overrides the preset's value.
const schemeFields = {
  header: Type.Optional(
    headerName(`Header carrying the signature. Default: the preset's (${presetNames.map((n) => `${n}: ${signaturePresets[n].header}`).join(", ")}).`),
  ),
  signed_string: Type.Optional(
    Type.String({
      minLength: 1,
      description: "What is signed; placeholders {id}, {timestamp} (unix seconds) and {body} (exact bytes). Default: the preset's.",
    }),
  ),
  encoding: Type.Optional(literals(["hex", "base64"], 'How the MAC bytes are written: "hex" or "base64". Default: the preset\'s.')),
  value_format: Type.Optional(
    Type.String({
      minLength: 1,
      description: "Whole header value; {signatures} (required) and optionally {timestamp}. Default: the preset's.",
    }),
  ),
  signature_format: Type.Optional(
    Type.String({ minLength: 1, description: 'One signature; must contain {signature}, e.g. "sha256={signature}". Default: the preset\'s.' }),
  ),
  separator: Type.Optional(
    Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      description: "Joins several signatures during a secret rotation; null: one signature, made with the newest secret. Default: the preset's, null for a custom scheme.",
    }),
  ),
  id_header: Type.Optional(headerName("Header carrying the message id, for schemes that sign {id}. Default: the preset's (standard-webhooks: webhook-id).")),
  timestamp_header: Type.Optional(
    headerName("Header carrying the unix timestamp (seconds). Default: the preset's (standard-webhooks: webhook-timestamp)."),
  ),
  secret_format: Type.Optional(
    literals(["whsec", "raw"], '"whsec": base64 key after the whsec_ prefix; "raw": the secret\'s UTF-8 bytes. Default: the preset\'s, "raw" for a custom scheme.'),
  ),
};

const secretFields = {
  preset: Type.Optional(Preset),
  secret: Type.Optional(Type.String({ description: "The shared secret, usually \"${ENV_VAR}\". Give exactly one of secret and secrets." })),
  secrets: Type.Optional(
    Type.Array(Type.String(), {
      minItems: 1,
      description: "Several secrets during a rotation, newest first. Give exactly one of secret and secrets.",
    }),
  ),
};

const Verify = Type.Object(
  {
    ...secretFields,
    ...schemeFields,
    tolerance: Type.Optional(
      duration(`Accepted clock skew for schemes that carry a timestamp, as a duration ("5m"). Default ${shown(DEFAULTS.tolerance)}.`, DEFAULTS.tolerance),
    ),
  },
  { additionalProperties: false, description: "Check the inbound signature; requests that fail get 401. Default: no check." },
);

const Sign = Type.Object(
  { ...secretFields, ...schemeFields },
  { additionalProperties: false, description: "Sign every delivery (rotation: each secret signs). Default: unsigned." },
);

const Variable = Type.Object(
  {
    name: Type.String({ pattern: VARIABLE_NAME_PATTERN, description: "Variable name, usable in templates as {{webhook.<name>}}. Required." }),
    type: literals(["string", "number", "boolean", "object", "array"], "JSON type the value must have. Required."),
    required: Type.Optional(Type.Boolean({ default: DEFAULTS.variableRequired, description: `Reject the request (400) when the value is absent or null. Default ${shown(DEFAULTS.variableRequired)}.` })),
    description: Type.Optional(Type.String({ description: "Shown in the OpenAPI document. Default: none." })),
    path: Type.Optional(Type.String({ minLength: 1, description: "Dot path into the JSON body, e.g. customer.email. Default: the variable's name." })),
    default: Type.Optional(Type.Unknown({ description: "Value used when an optional variable is absent; must have the declared type. Default: none." })),
  },
  { additionalProperties: false },
);

const Source = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        pattern: SOURCE_ID_PATTERN,
        description: "Fixed URL id: POST /api/webhook/<id>; unique across sources. Default: a random 128-bit id generated once and kept in the database.",
      }),
    ),
    kind: Type.Optional(
      literals(["generic", "typed"], `"generic": any JSON body; "typed": the {"type": ..., ...} envelope of API-key ingest. Default ${quoted(DEFAULTS.kind)}.`, DEFAULTS.kind),
    ),
    max_body: Type.Optional(
      size(`Largest accepted body, as a size ("100kb", "1mb"; 1 kb = 1024 bytes) or bytes, at most 16mb; larger gets 413. Default ${shown(DEFAULTS.maxBody)}.`, DEFAULTS.maxBody),
    ),
    max_depth: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10000, default: DEFAULTS.maxDepth, description: `Deepest nesting of arrays and objects accepted in a body; deeper gets 400. Default ${shown(DEFAULTS.maxDepth)}.` }),
    ),
    redact_headers: Type.Optional(
      Type.Array(headerName("A header name."), {
        description: 'Further headers stored as "[redacted]" (credentials such as authorization, cookie, x-api-key, x-gitlab-token, x-auth-token, x-webhook-secret always are). Default: none.',
      }),
    ),
    event_type: Type.Optional(
      Type.String({
        pattern: EVENT_TYPE_PATTERN,
        default: DEFAULTS.eventType,
        description: `Where the event type is read: "body.<path>", "header.<name>" or "source" (the source name). The source name is also the fallback when the field is absent. Default ${quoted(DEFAULTS.eventType)}.`,
      }),
    ),
    require_api_key: Type.Optional(
      Type.Boolean({ default: DEFAULTS.requireApiKey, description: `Also require an API key with webhook:write on this source's URL. Default ${shown(DEFAULTS.requireApiKey)}.` }),
    ),
    verify: Type.Optional(Verify),
    variables: Type.Optional(
      Type.Array(Variable, { description: "Declared body fields: validated on ingest (400 lists each failure), listed in OpenAPI, usable in templates. Default: none." }),
    ),
  },
  { additionalProperties: false },
);

const Status = Type.Union([Type.Integer({ minimum: 100, maximum: 599 }), Type.String({ pattern: STATUS_PATTERN })]);

const Exponential = Type.Object(
  {
    attempts: Type.Optional(Type.Integer({ minimum: 1, default: DEFAULTS.exponential.attempts, description: `Attempts in all, the first one included. Default ${shown(DEFAULTS.exponential.attempts)}.` })),
    base: Type.Optional(duration(`Cap of the first retry delay; doubles each retry. Duration with a unit. Default ${shown(DEFAULTS.exponential.base)}.`, DEFAULTS.exponential.base)),
    max: Type.Optional(duration(`Largest delay between attempts. Duration with a unit. Default ${shown(DEFAULTS.exponential.max)}.`, DEFAULTS.exponential.max)),
    jitter: Type.Optional(Type.Boolean({ default: DEFAULTS.exponential.jitter, description: `Full jitter: each delay is random between 0 and its cap. Default ${shown(DEFAULTS.exponential.jitter)}.` })),
  },
  { additionalProperties: false },
);

const Digest = Type.Object(
  {
    cron: Type.String({ description: 'When each window closes and its digest is sent, a cron expression (5 fields, or 6 with seconds), e.g. "0 6 * * *". Required.' }),
    timezone: Type.Optional(Type.String({ default: DEFAULTS.digest.timezone, description: `IANA time zone the cron expression is read in, e.g. "Europe/Berlin". Default ${quoted(DEFAULTS.digest.timezone)}.` })),
    max_items: Type.Optional(Type.Integer({ minimum: 1, default: DEFAULTS.digest.maxItems, description: `Largest number of items in one digest delivery; a bigger window is split. Default ${shown(DEFAULTS.digest.maxItems)}.` })),
    send_empty: Type.Optional(Type.Boolean({ default: DEFAULTS.digest.sendEmpty, description: `Send a digest for an empty window too. Default ${shown(DEFAULTS.digest.sendEmpty)}.` })),
    body: Type.Optional(
      literals(["array", "envelope"], `"array": the body is the JSON list of items; "envelope": {"event", "timestamp", "data": [items]}. Default ${quoted(DEFAULTS.digest.body)}.`, DEFAULTS.digest.body),
    ),
  },
  {
    additionalProperties: false,
    description: "Deliver this destination's events as one batch per window instead of one by one. Default: immediate delivery.",
  },
);

const Circuit = Type.Object(
  {
    failures: Type.Optional(
      Type.Integer({ minimum: 1, default: DEFAULTS.circuit.failures, description: `Failed attempts in a row that open the circuit; a 410 Gone opens it at once. Default ${shown(DEFAULTS.circuit.failures)}.` }),
    ),
    probe: Type.Optional(duration(`Wait before an open circuit sends one probe delivery; doubles after each failed probe. Duration with a unit. Default ${shown(DEFAULTS.circuit.probe)}.`, DEFAULTS.circuit.probe)),
    max_probe: Type.Optional(duration(`Longest wait between probes. Duration with a unit. Default ${shown(DEFAULTS.circuit.maxProbe)}.`, DEFAULTS.circuit.maxProbe)),
  },
  {
    additionalProperties: false,
    description:
      `Endpoint health: while open, this destination's deliveries wait (their attempts are not spent) until a probe succeeds. Default {failures: ${DEFAULTS.circuit.failures}, probe: ${DEFAULTS.circuit.probe}, max_probe: ${DEFAULTS.circuit.maxProbe}}.`,
  },
);

const Destination = Type.Object(
  {
    url: Type.String({ description: "Absolute http:// or https:// URL the deliveries are POSTed to. Required." }),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        propertyNames: { pattern: HEADER_NAME_PATTERN },
        description: 'Extra static headers, e.g. Authorization: "Bearer ${CRM_TOKEN}". Default: none.',
      }),
    ),
    timeout: Type.Optional(duration(`Time allowed for one attempt, as a duration with a unit. Default ${shown(DEFAULTS.timeout)}.`, DEFAULTS.timeout)),
    concurrency: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, default: DEFAULTS.concurrency, description: `Deliveries in flight at once to this destination, 1 to 1000. Default ${shown(DEFAULTS.concurrency)}.` }),
    ),
    retry: Type.Optional(
      Type.Union([Type.Array(duration("Delay before this retry."), { minItems: 1 }), Exponential], {
        description:
          `A list of delays, one per retry (e.g. [1m, 3m]), or exponential backoff {attempts, base, max, jitter}. Retry-After on 429/503 is honoured. Default ${shown(DEFAULTS.retry)}.`,
      }),
    ),
    ack: Type.Optional(
      Type.Object(
        {
          status: Type.Optional(
            Type.Union([Status, Type.Array(Status, { minItems: 1 })], {
              default: DEFAULTS.ackStatus,
              description: `Statuses that count as success: a status (201), a class ("2xx") or a list of them. Default ${quoted(DEFAULTS.ackStatus)}.`,
            }),
          ),
          body: Type.Optional(
            oneOrMany(Type.String(), "The response body must equal this string (or one of these) exactly, case-sensitive. Default: any body."),
          ),
        },
        { additionalProperties: false, description: "What counts as an acknowledgment; anything else is retried. Default: any 2xx." },
      ),
    ),
    sign: Type.Optional(Sign),
    event_header: Type.Optional(headerName("Header that carries the event type, e.g. X-Aficial-Event. Default: none.")),
    id_header: Type.Optional(headerName("Header that carries an id (see id_value), e.g. X-VAI-Webhook-ID. Default: none.")),
    id_value: Type.Optional(
      literals(["destination", "delivery", "event"], `What id_header carries: "destination" (this destination's name, as a webhook id), "delivery" (the delivery id) or "event" (the event id). Default ${quoted(DEFAULTS.idValue)}.`, DEFAULTS.idValue),
    ),
    timestamp_header: Type.Optional(headerName("Header that carries the send time (see timestamp_format), e.g. X-VAI-Timestamp. Default: none.")),
    timestamp_format: Type.Optional(
      literals(["ms", "s", "iso"], `How timestamp_header is written: "ms" (unix milliseconds, like Date.now()), "s" (unix seconds) or "iso" (ISO-8601 UTC). Default ${quoted(DEFAULTS.timestampFormat)}.`, DEFAULTS.timestampFormat),
    ),
    user_agent: Type.Optional(Type.String({ minLength: 1, description: 'User-Agent header. Default "Relay/<version>".' })),
    digest: Type.Optional(Digest),
    circuit: Type.Optional(Circuit),
    disable_after: Type.Optional(
      duration(`Continuous failure after which the destination is disabled and its pending deliveries become dead (retryable); a reload or POST /api/destinations/<name>/enable turns it back on. Duration with a unit; 0s never disables. Default ${shown(DEFAULTS.disableAfter)}.`, DEFAULTS.disableAfter),
    ),
  },
  { additionalProperties: false },
);

const Cidr = Type.String({ minLength: 1, description: 'An address range, e.g. "10.0.0.0/8", "fd00::/8" or "192.168.1.7".' });

const Egress = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal("default"), Type.Literal("public-only")], {
        default: DEFAULTS.egressMode,
        description:
          `"default": deliveries may reach public, private and loopback addresses, never link-local (cloud metadata), unspecified, multicast or broadcast ones; "public-only": private, loopback and other special ranges are refused too. Default ${quoted(DEFAULTS.egressMode)}.`,
      }),
    ),
    allow: Type.Optional(Type.Array(Cidr, { description: "Ranges allowed even when the mode refuses them (deny still wins). Default: none." })),
    deny: Type.Optional(Type.Array(Cidr, { description: "Ranges always refused. Default: none." })),
  },
  { additionalProperties: false, description: "Which addresses deliveries may connect to, checked on the resolved address of every attempt." },
);

const Condition = Type.Object(
  {
    path: Type.String({ description: "Field to test: body.<dot path> or headers.<name>. Required." }),
    equals: Type.Optional(Type.Unknown({ description: "Holds when the field equals this value." })),
    not_equals: Type.Optional(Type.Unknown({ description: "Holds when the field differs from this value." })),
    in: Type.Optional(Type.Array(Type.Unknown(), { description: "Holds when the field equals one of these values." })),
    exists: Type.Optional(Type.Boolean({ description: "true: the field is present; false: it is absent." })),
    gt: Type.Optional(Type.Number({ description: "Holds when the field is a number greater than this." })),
    gte: Type.Optional(Type.Number({ description: "Holds when the field is a number greater than or equal to this." })),
    lt: Type.Optional(Type.Number({ description: "Holds when the field is a number less than this." })),
    lte: Type.Optional(Type.Number({ description: "Holds when the field is a number less than or equal to this." })),
  },
  { additionalProperties: false, description: "One condition: path and exactly one operator." },
);

const Transform = Type.Union(
  [
    Type.Literal("envelope"),
    Type.Literal("passthrough"),
    Type.Object(
      { template: Type.Unknown({ description: "Any YAML value; {{webhook.body.x}}, {{webhook.headers.x}} and {{webhook.<variable>}} are filled in." }) },
      { additionalProperties: false },
    ),
    Type.Object({ jsonata: Type.String({ description: "A JSONata expression evaluated against the event." }) }, { additionalProperties: false }),
  ],
  {
    default: DEFAULTS.transform,
    description:
      `"envelope": {"event", "timestamp", "data"}; "passthrough": the body as received; {template: ...}: a new body built from placeholders; {jsonata: "..."}: a JSONata expression. Default ${quoted(DEFAULTS.transform)}.`,
  },
);

const Route = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, description: 'Unique route name, shown in logs and the admin API. Default "routes[<index>]".' })),
    from: oneOrMany(Type.String(), "Source name, or a list of them. Required."),
    when: Type.Optional(
      Type.Object(
        {
          type: Type.Optional(oneOrMany(Type.String({ minLength: 1 }), 'Event type pattern(s); "*" matches any run of characters, e.g. "order.*". Default: every type.')),
          match: Type.Optional(Type.Array(Condition, { description: "Field conditions; all must hold. Default: none." })),
        },
        { additionalProperties: false, description: "Which events take the route. Default: every event of the sources." },
      ),
    ),
    to: oneOrMany(Type.String(), "Destination name, or a list of them (each delivered and retried independently). Required."),
    transform: Type.Optional(Transform),
  },
  { additionalProperties: false },
);

export const RelayYamlSchema = Type.Object(
  {
    server: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1, default: DEFAULTS.host, description: `Address to listen on. Default ${quoted(DEFAULTS.host)}.` })),
          port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: DEFAULTS.port, description: `TCP port, 1 to 65535. Default ${shown(DEFAULTS.port)}.` })),
          admin_token: Type.Optional(
            Type.String({ description: 'Bootstrap admin token, usually "${RELAY_ADMIN_TOKEN}"; empty or absent: the admin API needs an admin-scoped API key. Default: none.' }),
          ),
          metrics_token: Type.Optional(
            Type.String({ description: 'Bearer token GET /metrics requires, usually "${RELAY_METRICS_TOKEN}"; empty or absent: /metrics is open. Default: none.' }),
          ),
          commit_timeout: Type.Optional(
            duration(`Longest an ingest request waits for its commit (a write lock held elsewhere, a stalled disk) before it gets 503 with Retry-After. Duration with a unit. Default ${shown(DEFAULTS.commitTimeout)}.`, DEFAULTS.commitTimeout),
          ),
          ui: Type.Optional(Type.Boolean({ default: DEFAULTS.ui, description: `Serve the operator dashboard under /ui. Default ${shown(DEFAULTS.ui)}.` })),
        },
        { additionalProperties: false, description: "HTTP listener." },
      ),
    ),
    storage: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(
            Type.String({ minLength: 1, default: DEFAULTS.storagePath, description: `SQLite file; a relative path is read from the YAML file's folder. Default ${quoted(DEFAULTS.storagePath)}.` }),
          ),
          retention: Type.Optional(duration(`Delivered events older than this are purged, as a duration with a unit. Default ${shown(DEFAULTS.retention)}.`, DEFAULTS.retention)),
          min_free: Type.Optional(
            size(`Free space the database's disk must keep; below it ingest gets 503 with Retry-After, before SQLite runs out of space. Size or bytes; 0 turns the check off; not checked with storage.postgres (the database server owns its disk). Default ${shown(DEFAULTS.minFree)}.`, DEFAULTS.minFree),
          ),
          postgres: Type.Optional(
            Type.Object(
              {
                url: Type.String({
                  pattern: POSTGRES_URL_PATTERN,
                  description: 'Connection URL, usually "${DATABASE_URL}": postgres://user:password@host:5432/database (?search_path=… picks a schema).',
                }),
                pool: Type.Optional(
                  Type.Integer({ minimum: 1, maximum: 100, default: DEFAULTS.postgresPool, description: `Connections per Relay instance. Default ${shown(DEFAULTS.postgresPool)}.` }),
                ),
              },
              {
                additionalProperties: false,
                description:
                  "Use PostgreSQL instead of the SQLite file (path and min_free are then unused): any number of Relay instances may share one database.",
              },
            ),
          ),
        },
        { additionalProperties: false, description: "Where events and deliveries are kept." },
      ),
    ),
    sources: Type.Optional(
      Type.Record(Type.String(), Source, {
        propertyNames: { pattern: NAME_PATTERN },
        description: 'Senders, by name (letters, digits, "_", "-"). Each gets a URL POST /api/webhook/<id>. Default: none.',
      }),
    ),
    destinations: Type.Optional(
      Type.Record(Type.String(), Destination, {
        propertyNames: { pattern: NAME_PATTERN },
        description: 'Receivers, by name (letters, digits, "_", "-"). Default: none.',
      }),
    ),
    routes: Type.Optional(Type.Array(Route, { description: "Which events go where, and in what shape. Default: none." })),
    egress: Type.Optional(Egress),
  },
  { additionalProperties: false, title: "relay.yaml", description: "Configuration of Relay, the self-hosted webhook relay gateway." },
);

export type RawConfig = Static<typeof RelayYamlSchema>;
export type RawSource = Static<typeof Source>;
export type RawVerify = Static<typeof Verify>;
export type RawSign = Static<typeof Sign>;
export type RawDestination = Static<typeof Destination>;
export type RawRoute = Static<typeof Route>;
export type RawCondition = Static<typeof Condition>;
