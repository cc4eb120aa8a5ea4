import { isAbsolute, resolve } from "node:path";
import { cidrProblem } from "../delivery/egress.ts";
import { checkJsonata } from "../routing/jsonata.ts";
import { checkTemplate } from "../routing/template.ts";
import { HEADER_NAME, duration, size, type Ctx } from "./checks.ts";
import { DEFAULT_EGRESS, DEFAULTS } from "./defaults.ts";
import { buildDestination } from "./destination.ts";
import { closest, didYouMean, type Issues, type Path } from "./issues.ts";
import { buildScheme, buildSecrets } from "./signatures.ts";
import type { RawCondition, RawConfig, RawRoute, RawSource } from "./schema.ts";
import { EVENT_TYPE_PATTERN, NAME_PATTERN, PATTERN_HINTS } from "./schema-kit.ts";
import {
  MAX_REQUEST_BYTES,
  type Config,
  type EgressPolicy,
  type EventTypeFrom,
  type FieldCondition,
  type RouteConfig,
  type SourceConfig,
  type TransformConfig,
  type VariableConfig,
} from "./types.ts";

// Checks beyond the schema (units, references, crons, signatures), then the normalised Config.

const NAME = new RegExp(NAME_PATTERN);
const OPERATORS = ["equals", "not_equals", "in", "exists", "gt", "gte", "lt", "lte"] as const;

/** Phase name under which load.ts reports schema violations; values with one are not checked further. */
export const SCHEMA_PHASE = "schema";

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
      commitTimeoutMs: c.ok(["server", "commit_timeout"])
        ? duration(server.commit_timeout ?? DEFAULTS.commitTimeout, ["server", "commit_timeout"], issues, { positive: true })
        : 0,
      ...(server.ui === false ? { ui: false } : {}),
    },
    storage: {
      path: storagePath(storage.path ?? DEFAULTS.storagePath, folder),
      retentionMs: c.ok(["storage", "retention"])
        ? duration(storage.retention ?? DEFAULTS.retention, ["storage", "retention"], issues, { positive: true })
        : 0,
      minFreeBytes: c.ok(["storage", "min_free"]) ? size(storage.min_free ?? DEFAULTS.minFree, ["storage", "min_free"], issues, { zero: true }) : 0,
      ...(storage.postgres && c.ok(["storage", "postgres"])
        ? { postgres: { url: storage.postgres.url, pool: storage.postgres.pool ?? DEFAULTS.postgresPool } }
        : {}),
    },
    sources: {},
    destinations: {},
    routes: [],
    egress: c.ok(["egress"]) ? egress(raw.egress, c.issues) : DEFAULT_EGRESS,
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
    config.routes.push(buildRoute(route, i, path, sourceNames, destinationNames, c, config.sources));
  });

  return issues.size === 0 ? config : undefined;
}

function storagePath(path: string, folder: string): string {
  // SQLite's in-memory database is a name, not a file.
  if (path === ":memory:" || isAbsolute(path)) return path;
  return resolve(folder, path);
}

function egress(raw: RawConfig["egress"], issues: Issues): EgressPolicy {
  const ranges = (key: "allow" | "deny") =>
    (raw?.[key] ?? []).filter((text, i) => {
      const problem = cidrProblem(text);
      if (problem) issues.add(["egress", key, i], problem);
      return !problem;
    });
  return { mode: raw?.mode ?? DEFAULTS.egressMode, allow: ranges("allow"), deny: ranges("deny") };
}

function buildSource(name: string, raw: RawSource, path: Path, c: Ctx): SourceConfig {
  const at = (...keys: Array<string | number>) => [...path, ...keys];
  const source: SourceConfig = {
    name,
    ...(raw.id !== undefined ? { id: raw.id } : {}),
    kind: raw.kind ?? DEFAULTS.kind,
    maxBodyBytes: c.ok(at("max_body")) ? size(raw.max_body ?? DEFAULTS.maxBody, at("max_body"), c.issues, { max: MAX_REQUEST_BYTES }) : 0,
    maxDepth: raw.max_depth ?? DEFAULTS.maxDepth,
    redactHeaders: (raw.redact_headers ?? []).map((h) => h.toLowerCase()),
    eventType: c.ok(at("event_type")) ? eventType(raw.event_type ?? DEFAULTS.eventType, at("event_type"), c.issues) : { from: "source" },
    requireApiKey: raw.require_api_key ?? DEFAULTS.requireApiKey,
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
      required: v.required ?? DEFAULTS.variableRequired,
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

function buildRoute(
  raw: RawRoute,
  index: number,
  path: Path,
  sources: string[] | null,
  destinations: string[] | null,
  c: Ctx,
  built: Record<string, SourceConfig>,
): RouteConfig {
  const at = (...keys: Array<string | number>) => [...path, ...keys];
  const from = c.ok(at("from")) ? references(raw.from, at("from"), "source", sources, c.issues) : [];
  const to = c.ok(at("to")) ? references(raw.to, at("to"), "destination", destinations, c.issues) : [];
  const when = c.open(at("when")) ? raw.when : undefined;
  const types = when?.type === undefined || !c.ok(at("when", "type")) ? [] : Array.isArray(when.type) ? [...when.type] : [when.type];
  const match = when?.match !== undefined && c.open(at("when", "match")) ? when.match : [];
  const fields = match.flatMap((cond, i) => (c.ok(at("when", "match", i)) ? condition(cond, at("when", "match", i), c.issues) : []));
  // Variables only when every source of the route was built: otherwise its own problem is already reported.
  const variables = from.every((s) => built[s])
    ? Object.fromEntries(from.map((s) => [s, built[s].variables.map((v) => v.name)]))
    : undefined;
  const transform: TransformConfig = c.ok(at("transform"))
    ? buildTransform(raw.transform ?? DEFAULTS.transform, at("transform"), c.issues, variables)
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

function buildTransform(
  raw: NonNullable<RawRoute["transform"]>,
  path: Path,
  issues: Issues,
  variables?: Record<string, readonly string[]>,
): TransformConfig {
  if (raw === "envelope" || raw === "passthrough") return { mode: raw };
  if ("jsonata" in raw) {
    const problem = checkJsonata(raw.jsonata);
    if (problem) issues.add([...path, "jsonata"], `invalid JSONata expression: ${problem}`);
    return { mode: "jsonata", expression: raw.jsonata };
  }
  for (const problem of checkTemplate(raw.template, variables, closest)) issues.add([...path, "template"], problem);
  return { mode: "template", template: raw.template };
}
