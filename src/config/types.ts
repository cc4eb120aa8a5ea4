// The validated, normalised configuration every other module reads.
// `load.ts` turns relay.yaml into this shape; durations are milliseconds, sizes are bytes.
/** The largest request body the server accepts at all; a source's max_body cannot exceed it. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export type FieldType = "string" | "number" | "boolean" | "object" | "array";

export interface Config {
  /** Absolute path of the YAML file this config was read from ("" when built in code). */
  file: string;
  server: ServerConfig;
  storage: StorageConfig;
  sources: Record<string, SourceConfig>;
  destinations: Record<string, DestinationConfig>;
  routes: RouteConfig[];
  /** Which addresses deliveries may connect to; every destination carries it too. */
  egress?: EgressPolicy;
}

/** Which resolved addresses deliveries may connect to (data; delivery/egress.ts decides). */
export interface EgressPolicy {
  /** "default": refuse only ranges no receiver lives in; "public-only": refuse private and loopback ranges too. */
  mode: "default" | "public-only";
  /** Ranges allowed even when the mode refuses them. */
  allow: string[];
  /** Ranges always refused. */
  deny: string[];
}

export interface ServerConfig {
  host: string; // default "0.0.0.0"
  port: number; // default 8080
  /** Bootstrap admin token (usually `${RELAY_ADMIN_TOKEN}`); admin API is closed without it or an admin-scoped key. */
  adminToken?: string;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`; absent: /metrics is open. */
  metricsToken?: string;
  /** Longest an ingest request waits for its commit before 503 + Retry-After. Default 5s. */
  commitTimeoutMs?: number;
  /** Serve the dashboard under /ui; absent or true: served. */
  ui?: boolean;
}

export interface StorageConfig {
  /** SQLite file; relative paths resolve against the YAML file's folder. */
  path: string;
  /** Delivered events older than this are purged. Default 30d. */
  retentionMs: number;
  /** Free space the database's disk keeps; below it ingest gets 503. 0: no check. Default 64mb. SQLite only. */
  minFreeBytes?: number;
  /** Set: PostgreSQL is the store (path is unused), shared by every instance pointed at it. */
  postgres?: PostgresConfig;
}

export interface PostgresConfig {
  /** postgres://user:password@host:port/database; `?search_path=name` picks the schema. */
  url: string;
  /** Connections per instance. Default 10. */
  pool: number;
}

/** Where an event's type is read from; the source name is the fallback when the field is absent. */
export type EventTypeFrom =
  | { from: "body"; path: string } // e.g. "type" or "event.name" (dot path into the JSON body)
  | { from: "header"; name: string } // lower-case header name, e.g. "x-github-event"
  | { from: "source" };

export interface VariableConfig {
  name: string;
  type: FieldType;
  required: boolean;
  description?: string;
  /** Dot path into the body; defaults to the variable's name. */
  path: string;
  default?: unknown;
}

/** Signature scheme as data: one HMAC-SHA256 mechanism, presets are named values of this. */
export interface SignatureScheme {
  /** Preset it came from, for display ("custom" when spelled out in the YAML). */
  preset: "standard-webhooks" | "sha256" | "stripe" | "hex" | "custom";
  /** Header carrying the signature, as written when sending (compared case-insensitively when verifying). */
  header: string;
  /** What is signed; placeholders {id}, {timestamp} (unix seconds), {body} (exact bytes sent/received). */
  signedString: string;
  /** How the MAC bytes are written. */
  encoding: "hex" | "base64";
  /** Whole header value; {timestamp} and {signatures} (the signatureFormat list joined by separator). */
  valueFormat: string;
  /** One signature; placeholder {signature}. */
  signatureFormat: string;
  /** Joins several signatures during a secret rotation; null: the scheme carries one, the newest secret signs. */
  separator: string | null;
  /** Header carrying the message id (standard-webhooks: webhook-id). */
  idHeader?: string;
  /** Header carrying the unix timestamp (standard-webhooks: webhook-timestamp). */
  timestampHeader?: string;
  /** "whsec": base64 key after the `whsec_` prefix; "raw": the secret's UTF-8 bytes. */
  secretFormat: "whsec" | "raw";
  /** Receivers verify over JSON.stringify(req.body): the sent bytes are made equal to that re-serialization. */
  reserialized?: boolean;
}

export interface SignConfig {
  scheme: SignatureScheme;
  /** Newest first; during a rotation every secret signs. */
  secrets: string[];
}

export interface VerifyConfig {
  scheme: SignatureScheme;
  secrets: string[];
  /** Accepted clock skew for schemes that carry a timestamp. Default 5m. */
  toleranceMs: number;
}

export interface SourceConfig {
  name: string;
  /** URL segment in POST /api/webhook/:id. Absent: a random 128-bit id is generated once and kept in the store. */
  id?: string;
  kind: "generic" | "typed";
  /** Default 100kb. */
  maxBodyBytes: number;
  /** Deepest nesting of arrays/objects accepted. Default 64. */
  maxDepth?: number;
  /** Lower-case header names stored as "[redacted]", besides the built-in credential headers. */
  redactHeaders?: string[];
  eventType: EventTypeFrom;
  /** When true, POST /api/webhook/:id also needs an API key bound to this source (or unbound) with webhook:write. */
  requireApiKey: boolean;
  verify?: VerifyConfig;
  variables: VariableConfig[];
}

export type RetryPolicy =
  /** Delay before each retry, after the previous failed attempt; attempts = delays + 1. */
  | { kind: "schedule"; delaysMs: number[] }
  /** Full-jitter exponential backoff: delay n = random(0..min(max, base * 2^n)) when jitter, else the cap itself. */
  | { kind: "exponential"; attempts: number; baseMs: number; maxMs: number; jitter: boolean };

export interface AckContract {
  /** Inclusive status ranges counted as success. Default [[200, 299]]. */
  statuses: Array<[number, number]>;
  /** When set, the response body must equal one of these exactly (case-sensitive, no trimming). */
  bodies?: string[];
}

export interface DigestConfig {
  cron: string;
  timezone: string; // IANA name, default "UTC"
  maxItems: number; // default 1000
  sendEmpty: boolean; // default false
  body: "array" | "envelope"; // default "array"
}

export interface DestinationConfig {
  name: string;
  url: string;
  /** Static extra headers (values may come from ${ENV}). */
  headers: Record<string, string>;
  timeoutMs: number; // default 10s
  concurrency: number; // default 10
  retry: RetryPolicy;
  ack: AckContract;
  sign?: SignConfig;
  /** Optional header names filled per delivery. */
  eventHeader?: string; // e.g. X-Aficial-Event: <event type>
  idHeader?: string; // e.g. X-VAI-Webhook-ID: <destination name>
  /** What idHeader carries; default "destination". */
  idValue?: "destination" | "delivery" | "event";
  timestampHeader?: string; // e.g. X-VAI-Timestamp: <unix ms>
  /** How timestampHeader is written: unix ms (Date.now(), the default), unix seconds or ISO-8601. */
  timestampFormat?: "ms" | "s" | "iso";
  userAgent: string; // default "Relay/<version>"
  digest?: DigestConfig;
  /** Endpoint health; the loader fills it when the YAML has `circuit:`, else DEFAULT_CIRCUIT (config/defaults.ts) applies. */
  circuit?: CircuitConfig;
  /** Continuous failure after which the destination is disabled; 0 never. Default 5d. */
  disableAfterMs?: number;
}

export interface CircuitConfig {
  /** Failed attempts in a row that open the circuit (a 410 Gone opens it at once). Default 5. */
  failures: number;
  /** Wait before the first probe of an open circuit; doubles per failed probe. Default 30s. */
  probeMs: number;
  /** Longest wait between probes. Default 10m. */
  maxProbeMs: number;
}

export type FieldCondition =
  | { path: string; op: "equals" | "not_equals"; value: unknown }
  | { path: string; op: "in"; value: unknown[] }
  | { path: string; op: "exists"; value: boolean }
  | { path: string; op: "gt" | "gte" | "lt" | "lte"; value: number };

export interface RouteCondition {
  /** Event type patterns with `*` wildcards; empty means every type. */
  types: string[];
  /** All must hold. Paths start with `body.` or `headers.` (e.g. body.order.total). */
  fields: FieldCondition[];
}

export type TransformConfig =
  | { mode: "envelope" }
  | { mode: "passthrough" }
  | { mode: "template"; template: unknown }
  | { mode: "jsonata"; expression: string };

export interface RouteConfig {
  /** `name` from the YAML, else "routes[i]". */
  name: string;
  from: string[];
  when: RouteCondition;
  to: string[];
  transform: TransformConfig;
}
