import { isAbsolute, resolve } from "node:path";
import { Cron } from "croner";
import { checkJsonata, checkTemplate } from "../routing/render.ts";
import { decodeSecret, schemeProblem } from "../signing/hmac.ts";
import { schemeFromPreset } from "../signing/presets.ts";
import { VERSION } from "../version.ts";
import { didYouMean, type Issues, type Path } from "./issues.ts";
import {
  EVENT_TYPE_PATTERN,
  HEADER_NAME_PATTERN,
  NAME_PATTERN,
  PATTERN_HINTS,
  type RawConfig,
  type RawCondition,
  type RawDestination,
  type RawRoute,
  type RawSign,
  type RawSource,
  type RawVerify,
} from "./schema.ts";
import type {
  AckContract,
  CircuitConfig,
  Config,
  DestinationConfig,
  DigestConfig,
  EventTypeFrom,
  FieldCondition,
  RetryPolicy,
  RouteConfig,
  SignatureScheme,
  SourceConfig,
  TransformConfig,
  VariableConfig,
} from "./types.ts";
import { parseDuration, parseSize } from "./units.ts";

// Checks beyond the schema (units, references, crons, signatures), then the normalised Config.

export const DEFAULTS = {
  host: "0.0.0.0",
  port: 8080,
  storagePath: "./data/relay.db",
  postgresPool: 10,
  retention: "30d",
  maxBody: "100kb",
  eventType: "body.type",
  tolerance: "5m",
  timeout: "10s",
  concurrency: 10,
  retry: ["5s", "1m", "5m", "30m", "2h", "6h", "12h"],
  exponential: { attempts: 8, base: "5s", max: "1h", jitter: true },
  digest: { timezone: "UTC", maxItems: 1000, sendEmpty: false, body: "array" as const },
  circuit: { failures: 5, probe: "30s", maxProbe: "10m" },
  userAgent: `Relay/${VERSION}`,
} as const;

const NAME = new RegExp(NAME_PATTERN);
const HEADER_NAME = new RegExp(HEADER_NAME_PATTERN);
const OPERATORS = ["equals", "not_equals", "in", "exists", "gt", "gte", "lt", "lte"] as const;
const FORMAT_KEYS = ["signed_string", "encoding", "value_format", "signature_format"] as const;
const CUSTOM_REQUIRED = ["header", ...FORMAT_KEYS] as const;

/** Phase name under which load.ts reports schema violations; values with one are not checked further. */
export const SCHEMA_PHASE = "schema";

/** What the later checks may rely on, given what the schema already rejected. */
interface Ctx {
  issues: Issues;
  /** Nothing at or below `path` was rejected by the schema: its value has the declared shape. */
  ok(path: Path): boolean;
  /** The value at `path` itself was not rejected (its children may have been): safe to look inside. */
  open(path: Path): boolean;
}

/** The Config for `raw`, or undefined when something was reported (the caller throws then). */
export function normalise(raw: RawConfig, file: string, issues: Issues): Config | undefined {
  const c: Ctx = {
    issues,
    ok: (path) => !issues.hasUnder(path, SCHEMA_PHASE),
    open: (path) => !issues.has(path, SCHEMA_PHASE),
  };
  const folder = resolve(file, "..");
  const server = c.open(["server"]) ? (raw.server ?? {}) : {};
  const storage = c.open(["storage"]) ? (raw.storage ?? {}) : {};
  // When a container is not even a map, there are no names to check references against.
  const sourceNames = c.open(["sources"]) ? Object.keys(raw.sources ?? {}) : null;
  const destinationNames = c.open(["destinations"]) ? Object.keys(raw.destinations ?? {}) : null;

  const config: Config = {
    file: resolve(file),
    server: {
      host: server.host ?? DEFAULTS.host,
      port: server.port ?? DEFAULTS.port,
      // `admin_token: "${RELAY_ADMIN_TOKEN:-}"` leaves the token out when the variable is unset.
      ...(server.admin_token ? { adminToken: server.admin_token } : {}),
      ...(server.metrics_token ? { metricsToken: server.metrics_token } : {}),
    },
    storage: {
      path: storagePath(storage.path ?? DEFAULTS.storagePath, folder),
      retentionMs: c.ok(["storage", "retention"])
        ? duration(storage.retention ?? DEFAULTS.retention, ["storage", "retention"], issues, { positive: true })
        : 0,
      ...(storage.postgres && c.ok(["storage", "postgres"])
        ? { postgres: { url: storage.postgres.url, pool: storage.postgres.pool ?? DEFAULTS.postgresPool } }
        : {}),
    },
    sources: {},
    destinations: {},
    routes: [],
  };

  const ids = new Map<string, string>();
  for (const [name, source] of Object.entries(sourceNames ? (raw.sources ?? {}) : {})) {
    const path = ["sources", name];
    if (!NAME.test(name)) issues.add(path, `invalid source name "${name}": use ${PATTERN_HINTS[NAME_PATTERN]}`, "key");
    if (!c.open(path)) continue;
    if (source.id !== undefined && c.ok([...path, "id"])) {
      const owner = ids.get(source.id);
      if (owner !== undefined) issues.add([...path, "id"], `id "${source.id}" is already used by source "${owner}"`);
      else ids.set(source.id, name);
    }
    const built = buildSource(name, source, path, c);
    if (NAME.test(name)) config.sources[name] = built;
  }

  for (const [name, destination] of Object.entries(destinationNames ? (raw.destinations ?? {}) : {})) {
    const path = ["destinations", name];
    if (!NAME.test(name)) issues.add(path, `invalid destination name "${name}": use ${PATTERN_HINTS[NAME_PATTERN]}`, "key");
    if (!c.open(path)) continue;
    const built = buildDestination(name, destination, path, c);
    if (NAME.test(name)) config.destinations[name] = built;
  }

  const routeNames = new Map<string, number>();
  (c.open(["routes"]) ? (raw.routes ?? []) : []).forEach((route, i) => {
    const path = ["routes", i];
    if (!c.open(path)) return;
    if (route.name !== undefined && c.ok([...path, "name"])) {
      const first = routeNames.get(route.name);
      if (first !== undefined) issues.add([...path, "name"], `duplicate route name "${route.name}" (also routes[${first}])`);
      else routeNames.set(route.name, i);
    }
    config.routes.push(buildRoute(route, i, path, sourceNames, destinationNames, c));
  });

  return issues.size === 0 ? config : undefined;
}

function storagePath(path: string, folder: string): string {
  // SQLite's in-memory database is a name, not a file.
  if (path === ":memory:" || isAbsolute(path)) return path;
  return resolve(folder, path);
}


function duration(value: string | number, path: Path, issues: Issues, opts: { positive?: boolean } = {}): number {
  const ms = parseDuration(value);
  if (typeof ms === "string") {
    issues.add(path, ms);
    return 0;
  }
  if (opts.positive && ms <= 0) issues.add(path, "must be longer than 0");
  return ms;
}

function size(value: string | number, path: Path, issues: Issues): number {
  const bytes = parseSize(value);
  if (typeof bytes === "string") {
    issues.add(path, bytes);
    return 0;
  }
  if (bytes <= 0) issues.add(path, "must be larger than 0");
  return bytes;
}


function buildSource(name: string, raw: RawSource, path: Path, c: Ctx): SourceConfig {
  const at = (...keys: Array<string | number>) => [...path, ...keys];
  const source: SourceConfig = {
    name,
    ...(raw.id !== undefined ? { id: raw.id } : {}),
    kind: raw.kind ?? "generic",
    maxBodyBytes: c.ok(at("max_body")) ? size(raw.max_body ?? DEFAULTS.maxBody, at("max_body"), c.issues) : 0,
    eventType: c.ok(at("event_type")) ? eventType(raw.event_type ?? DEFAULTS.eventType, at("event_type"), c.issues) : { from: "source" },
    requireApiKey: raw.require_api_key ?? false,
    variables: c.open(at("variables")) ? variables(raw.variables ?? [], at("variables"), c) : [],
  };
  if (raw.verify && c.ok(at("verify"))) {
    const scheme = buildScheme(raw.verify, at("verify"), c.issues);
    const secrets = buildSecrets(raw.verify, scheme, at("verify"), c.issues);
    const toleranceMs = duration(raw.verify.tolerance ?? DEFAULTS.tolerance, at("verify", "tolerance"), c.issues, { positive: true });
    if (scheme && secrets) source.verify = { scheme, secrets, toleranceMs };
  }
  return source;
}

function eventType(text: string, path: Path, issues: Issues): EventTypeFrom {
  if (text === "source") return { from: "source" };
  if (text.startsWith("header.")) {
    const name = text.slice(7);
    if (!HEADER_NAME.test(name)) issues.add(path, `invalid header name "${name}"`);
    return { from: "header", name: name.toLowerCase() };
  }
  const field = text.startsWith("body.") ? text.slice(5) : "";
  if (field === "" || field.split(".").some((part) => part === "")) {
    issues.add(path, `invalid value "${text}": expected ${PATTERN_HINTS[EVENT_TYPE_PATTERN]}`);
  }
  return { from: "body", path: field };
}

function variables(list: NonNullable<RawSource["variables"]>, path: Path, c: Ctx): VariableConfig[] {
  const seen = new Set<string>();
  return list.map((v, i) => {
    if (!c.ok([...path, i])) return v as VariableConfig;
    if (seen.has(v.name)) c.issues.add([...path, i, "name"], `duplicate variable "${v.name}"`);
    seen.add(v.name);
    if (v.default !== undefined && v.default !== null && jsonType(v.default) !== v.type) {
      c.issues.add([...path, i, "default"], `default must be of type ${v.type}, got ${jsonType(v.default)}`);
    }
    return {
      name: v.name,
      type: v.type,
      required: v.required ?? false,
      ...(v.description !== undefined ? { description: v.description } : {}),
      path: v.path ?? v.name,
      ...(v.default !== undefined ? { default: v.default } : {}),
    };
  });
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}


/** The preset with the YAML's overrides applied, or a custom scheme when no preset is named. */
function buildScheme(raw: RawSign | RawVerify, path: Path, issues: Issues): SignatureScheme | undefined {
  let base: SignatureScheme;
  if (raw.preset !== undefined) {
    base = schemeFromPreset(raw.preset);
  } else if (FORMAT_KEYS.every((k) => raw[k] === undefined)) {
    base = schemeFromPreset("standard-webhooks");
  } else {
    const missing = CUSTOM_REQUIRED.filter((k) => raw[k] === undefined);
    if (missing.length > 0) {
      issues.add(path, `a custom signature scheme (no preset) needs ${missing.map((k) => `"${k}"`).join(", ")}; or name a preset`);
      return undefined;
    }
    base = { preset: "custom", header: "", signedString: "", encoding: "hex", valueFormat: "", signatureFormat: "", separator: null, secretFormat: "raw" };
  }
  const scheme: SignatureScheme = {
    ...base,
    ...(raw.header !== undefined ? { header: raw.header } : {}),
    ...(raw.signed_string !== undefined ? { signedString: raw.signed_string } : {}),
    ...(raw.encoding !== undefined ? { encoding: raw.encoding } : {}),
    ...(raw.value_format !== undefined ? { valueFormat: raw.value_format } : {}),
    ...(raw.signature_format !== undefined ? { signatureFormat: raw.signature_format } : {}),
    ...(raw.separator !== undefined ? { separator: raw.separator } : {}),
    ...(raw.id_header !== undefined ? { idHeader: raw.id_header } : {}),
    ...(raw.timestamp_header !== undefined ? { timestampHeader: raw.timestamp_header } : {}),
    ...(raw.secret_format !== undefined ? { secretFormat: raw.secret_format } : {}),
  };
  const problem = schemeProblem(scheme);
  if (problem) {
    // The signing module names fields in camelCase; the admin wrote snake_case.
    issues.add(path, `signature scheme: ${problem.replace(/[a-z][A-Z]/g, (pair) => `${pair[0]}_${pair[1].toLowerCase()}`)}`);
    return undefined;
  }
  return scheme;
}

/** Newest first; each one must be usable with the scheme's secret format. Never echoes a secret. */
function buildSecrets(raw: RawSign | RawVerify, scheme: SignatureScheme | undefined, path: Path, issues: Issues): string[] | undefined {
  if (raw.secret !== undefined && raw.secrets !== undefined) {
    issues.add(path, 'give either "secret" or "secrets", not both');
    return undefined;
  }
  if (raw.secret === undefined && raw.secrets === undefined) {
    issues.add(path, 'missing required key "secret" (or "secrets" during a rotation)');
    return undefined;
  }
  const list = raw.secrets ?? [raw.secret as string];
  let ok = true;
  list.forEach((secret, i) => {
    const at = raw.secrets ? [...path, "secrets", i] : [...path, "secret"];
    if (secret === "") {
      issues.addIfFirst(at, "secret is empty");
      ok = false;
      return;
    }
    if (!scheme) return;
    try {
      decodeSecret(secret, scheme.secretFormat);
    } catch (error) {
      issues.addIfFirst(at, (error as Error).message);
      ok = false;
    }
  });
  return ok ? [...list] : undefined;
}


function buildDestination(name: string, raw: RawDestination, path: Path, c: Ctx): DestinationConfig {
  const at = (...keys: Array<string | number>) => [...path, ...keys];
  if (c.ok(at("url"))) checkUrl(raw.url, at("url"), c.issues);

  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(c.open(at("headers")) ? (raw.headers ?? {}) : {})) {
    if (!HEADER_NAME.test(header)) c.issues.add(at("headers", header), `invalid header name "${header}"`, "key");
    if (!c.ok(at("headers", header))) continue;
    const text = String(value);
    if (/[\r\n\0]/.test(text)) c.issues.add(at("headers", header), "header value must not contain line breaks");
    Object.defineProperty(headers, header, { value: text, enumerable: true, writable: true, configurable: true });
  }

  const sign = raw.sign && c.ok(at("sign")) ? buildSign(raw.sign, at("sign"), c.issues) : undefined;
  const destination: DestinationConfig = {
    name,
    url: raw.url,
    headers,
    timeoutMs: c.ok(at("timeout")) ? duration(raw.timeout ?? DEFAULTS.timeout, at("timeout"), c.issues, { positive: true }) : 0,
    concurrency: raw.concurrency ?? DEFAULTS.concurrency,
    retry: c.ok(at("retry")) ? retry(raw.retry, at("retry"), c.issues) : { kind: "schedule", delaysMs: [] },
    ack: c.ok(at("ack")) ? ack(raw.ack) : { statuses: [] },
    ...(sign ? { sign } : {}),
    ...(raw.event_header !== undefined ? { eventHeader: raw.event_header } : {}),
    ...(raw.id_header !== undefined ? { idHeader: raw.id_header } : {}),
    ...(raw.timestamp_header !== undefined ? { timestampHeader: raw.timestamp_header } : {}),
    userAgent: raw.user_agent ?? DEFAULTS.userAgent,
  };
  if (raw.digest && c.open(at("digest"))) {
    const digest = buildDigest(raw.digest, at("digest"), c);
    if (digest) destination.digest = digest;
  }
  if (raw.circuit && c.ok(at("circuit"))) destination.circuit = buildCircuit(raw.circuit, at("circuit"), c.issues);
  return destination;
}

function buildCircuit(raw: NonNullable<RawDestination["circuit"]>, path: Path, issues: Issues): CircuitConfig {
  const probeMs = duration(raw.probe ?? DEFAULTS.circuit.probe, [...path, "probe"], issues, { positive: true });
  const maxProbeMs = duration(raw.max_probe ?? DEFAULTS.circuit.maxProbe, [...path, "max_probe"], issues, { positive: true });
  if (maxProbeMs < probeMs) issues.add([...path, raw.max_probe !== undefined ? "max_probe" : "probe"], "max_probe must not be shorter than probe");
  return { failures: raw.failures ?? DEFAULTS.circuit.failures, probeMs, maxProbeMs };
}

function checkUrl(text: string, path: Path, issues: Issues): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    issues.addIfFirst(path, "not an absolute URL: expected http://… or https://…");
    return;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    issues.add(path, `unsupported scheme "${url.protocol.slice(0, -1)}": expected http or https`);
  }
}

function buildSign(raw: RawSign, path: Path, issues: Issues) {
  const scheme = buildScheme(raw, path, issues);
  const secrets = buildSecrets(raw, scheme, path, issues);
  return scheme && secrets ? { scheme, secrets } : undefined;
}

function retry(raw: RawDestination["retry"], path: Path, issues: Issues): RetryPolicy {
  if (raw === undefined) {
    return { kind: "schedule", delaysMs: DEFAULTS.retry.map((d) => duration(d, path, issues)) };
  }
  if (Array.isArray(raw)) {
    return { kind: "schedule", delaysMs: raw.map((d, i) => duration(d, [...path, i], issues)) };
  }
  const baseMs = duration(raw.base ?? DEFAULTS.exponential.base, [...path, "base"], issues, { positive: true });
  const maxMs = duration(raw.max ?? DEFAULTS.exponential.max, [...path, "max"], issues, { positive: true });
  if (maxMs < baseMs) issues.add([...path, raw.max !== undefined ? "max" : "base"], "max must not be shorter than base");
  return {
    kind: "exponential",
    attempts: raw.attempts ?? DEFAULTS.exponential.attempts,
    baseMs,
    maxMs,
    jitter: raw.jitter ?? DEFAULTS.exponential.jitter,
  };
}

function ack(raw: RawDestination["ack"]): AckContract {
  const status = raw?.status ?? "2xx";
  const statuses = (Array.isArray(status) ? status : [status]).map(statusRange);
  const body = raw?.body;
  return { statuses, ...(body !== undefined ? { bodies: Array.isArray(body) ? [...body] : [body] } : {}) };
}

/** 201 → [201, 201]; "2xx" → [200, 299]; "204" → [204, 204]. */
function statusRange(status: number | string): [number, number] {
  if (typeof status === "number") return [status, status];
  if (status.endsWith("xx")) {
    const lo = Number(status[0]) * 100;
    return [lo, lo + 99];
  }
  return [Number(status), Number(status)];
}

function buildDigest(raw: NonNullable<RawDestination["digest"]>, path: Path, c: Ctx): DigestConfig | undefined {
  const zonePath = [...path, "timezone"];
  const zone = c.ok(zonePath) ? timeZone(raw.timezone ?? DEFAULTS.digest.timezone) : "UTC";
  if (zone === undefined) {
    c.issues.add(zonePath, `unknown time zone "${raw.timezone}"${didYouMean(String(raw.timezone), Intl.supportedValuesOf("timeZone"))}`);
  }
  const cronProblem = c.ok([...path, "cron"]) ? checkCron(raw.cron, zone ?? "UTC") : "";
  if (cronProblem) c.issues.add([...path, "cron"], cronProblem);
  if (zone === undefined || cronProblem !== null) return undefined;
  return {
    cron: raw.cron,
    timezone: zone,
    maxItems: raw.max_items ?? DEFAULTS.digest.maxItems,
    sendEmpty: raw.send_empty ?? DEFAULTS.digest.sendEmpty,
    body: raw.body ?? DEFAULTS.digest.body,
  };
}

/** The canonical IANA name ("europe/berlin" → "Europe/Berlin"), or undefined when unknown. */
function timeZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function checkCron(expression: string, timezone: string): string | null {
  let job: Cron | undefined;
  try {
    job = new Cron(expression, { timezone, paused: true });
    // croner also takes an ISO date as a one-off run; a digest needs a repeating schedule.
    if (job.getPattern() === undefined) return `invalid cron expression "${expression}": expected 5 fields (or 6 with seconds), e.g. "0 6 * * *"`;
    if (job.nextRun() === null) return `cron expression "${expression}" never fires`;
    return null;
  } catch (error) {
    const why = (error as Error).message.replace(/^CronPattern:\s*/, "");
    return `invalid cron expression "${expression}": ${why}`;
  } finally {
    job?.stop();
  }
}


function buildRoute(
  raw: RawRoute,
  index: number,
  path: Path,
  sources: string[] | null,
  destinations: string[] | null,
  c: Ctx,
): RouteConfig {
  const at = (...keys: Array<string | number>) => [...path, ...keys];
  const from = c.ok(at("from")) ? references(raw.from, at("from"), "source", sources, c.issues) : [];
  const to = c.ok(at("to")) ? references(raw.to, at("to"), "destination", destinations, c.issues) : [];
  const when = c.open(at("when")) ? raw.when : undefined;
  const types = when?.type === undefined || !c.ok(at("when", "type")) ? [] : Array.isArray(when.type) ? [...when.type] : [when.type];
  const match = when?.match !== undefined && c.open(at("when", "match")) ? when.match : [];
  const fields = match.flatMap((cond, i) => (c.ok(at("when", "match", i)) ? condition(cond, at("when", "match", i), c.issues) : []));
  const transform: TransformConfig = c.ok(at("transform"))
    ? buildTransform(raw.transform ?? "envelope", at("transform"), c.issues)
    : { mode: "envelope" };
  return { name: raw.name ?? `routes[${index}]`, from, when: { types, fields }, to, transform };
}

/** Names a route refers to; `known` null: the container was invalid, so nothing is checked. */
function references(raw: string | string[], path: Path, what: string, known: string[] | null, issues: Issues): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  const seen = new Set<string>();
  list.forEach((name, i) => {
    const at = Array.isArray(raw) ? [...path, i] : path;
    if (known && !known.includes(name)) issues.add(at, `unknown ${what} "${name}"${didYouMean(name, known)}`);
    else if (seen.has(name)) issues.add(at, `${what} "${name}" is listed twice`);
    seen.add(name);
  });
  return [...seen];
}

function condition(raw: RawCondition, path: Path, issues: Issues): FieldCondition[] {
  const ops = OPERATORS.filter((op) => Object.hasOwn(raw, op));
  if (!/^(?:body|headers)\.\S/.test(raw.path)) {
    issues.add([...path, "path"], `condition path "${raw.path}" must start with "body." or "headers."`);
  }
  if (ops.length !== 1) {
    issues.add(
      path,
      ops.length === 0
        ? `condition needs one operator: ${OPERATORS.join(", ")}`
        : `condition has ${ops.length} operators (${ops.join(", ")}); give each its own condition`,
    );
    return [];
  }
  const op = ops[0];
  switch (op) {
    case "in":
      return [{ path: raw.path, op, value: raw.in ?? [] }];
    case "exists":
      return [{ path: raw.path, op, value: raw.exists ?? true }];
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return [{ path: raw.path, op, value: raw[op] as number }];
    default:
      return [{ path: raw.path, op, value: raw[op] }];
  }
}

function buildTransform(raw: NonNullable<RawRoute["transform"]>, path: Path, issues: Issues): TransformConfig {
  if (raw === "envelope" || raw === "passthrough") return { mode: raw };
  if ("jsonata" in raw) {
    const problem = checkJsonata(raw.jsonata);
    if (problem) issues.add([...path, "jsonata"], `invalid JSONata expression: ${problem}`);
    return { mode: "jsonata", expression: raw.jsonata };
  }
  for (const problem of checkTemplate(raw.template)) issues.add([...path, "template"], problem);
  return { mode: "template", template: raw.template };
}
