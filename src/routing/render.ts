import jsonata from "jsonata";
import type { TransformConfig } from "../config/types.ts";
import type { InboundEvent } from "./event.ts";
import { asNumber } from "./match.ts";
import { getKeys, parsePath } from "./path.ts";
import { errorMessage } from "../errors.ts";

// What a route sends: the body string, exactly the bytes that will be signed and posted. Pure:
// never throws, never does I/O; a failure is a value ({ ok: false }).

export type Rendered = { ok: true; body: string } | { ok: false; error: string };

/** Longest a JSONata expression may run per event before it is abandoned. */
export const JSONATA_TIMEOUT_MS = 1000;

export async function render(transform: TransformConfig, event: InboundEvent): Promise<Rendered> {
  try {
    switch (transform.mode) {
      case "envelope":
        return {
          ok: true,
          body: JSON.stringify({ event: event.type, timestamp: isoTime(event.receivedAt), data: event.body }),
        };
      case "passthrough":
        return { ok: true, body: event.rawBody };
      case "template":
        return { ok: true, body: JSON.stringify(renderValue(transform.template, event, "")) };
      case "jsonata":
        return await renderJsonata(transform.expression, event);
      default:
        return { ok: false, error: `unknown transform mode ${JSON.stringify((transform as { mode: unknown }).mode)}` };
    }
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

// ───────────────────────────── templates ─────────────────────────────

type Literal = string | number | boolean | null;

type Ref =
  | { root: "body"; keys: string[] }
  | { root: "headers"; name: string | null }
  | { root: "variable"; name: string; keys: string[] }
  | { root: "event"; field: "id" | "type" | "source" | "received_at" };

interface Filter {
  name: string;
  args: Literal[];
}

interface Placeholder {
  /** The placeholder as written, `{{ … }}`, for error messages. */
  text: string;
  ref: Ref;
  filters: Filter[];
}

type Piece = string | Placeholder;

class TemplateError extends Error {}

const EVENT_FIELDS = new Set(["id", "type", "source", "received_at"]);
const REFERENCE_HELP =
  "expected webhook.body.<path>, webhook.headers.<name>, webhook.<variable>, event.id, event.type, event.source or event.received_at";

/**
 * Reports every problem of a template (malformed placeholders, unknown filters, bad filter arguments) without an event.
 * `variables`: per source feeding the route, the variables it declares; a `webhook.<name>` that one of them lacks is reported.
 */
export function checkTemplate(template: unknown, variables?: Record<string, readonly string[]>): string[] {
  const problems: string[] = [];
  walk(template, "", (text, at) => {
    const parsed = parseString(text);
    if (!parsed.ok) return problems.push(located(at, parsed.error));
    if (!variables) return;
    for (const piece of parsed.pieces) {
      if (typeof piece === "string" || piece.ref.root !== "variable") continue;
      const name = piece.ref.name;
      const lacking = Object.keys(variables).filter((source) => !variables[source].includes(name));
      if (lacking.length === 0) continue;
      const declared = [...new Set(Object.values(variables).flat())];
      const near = declared.filter((d) => d !== name && editDistance(d.toLowerCase(), name.toLowerCase()) <= 2);
      const hint = declared.includes(name)
        ? "; declare it there too, or use webhook.body.<path>"
        : near.length > 0
          ? ` (did you mean webhook.${near[0]}?)`
          : "; declare it, or use webhook.body.<path>";
      problems.push(located(at, `webhook.${name} is not a variable of source ${lacking.map((s) => `"${s}"`).join(", ")}${hint}`));
    }
  });
  return problems;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function walk(value: unknown, at: string, visit: (text: string, at: string) => void): void {
  if (typeof value === "string") visit(value, at);
  else if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${at}[${i}]`, visit));
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) walk(item, childPath(at, key), visit);
  }
}

function childPath(at: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return at === "" ? key : `${at}.${key}`;
  return `${at}[${JSON.stringify(key)}]`;
}

function located(at: string, message: string): string {
  return at === "" ? message : `${at}: ${message}`;
}

function renderValue(value: unknown, event: InboundEvent, at: string): unknown {
  if (typeof value === "string") return renderString(value, event, at);
  if (Array.isArray(value)) return value.map((item, i) => renderValue(item, event, `${at}[${i}]`));
  if (value !== null && typeof value === "object") {
    // fromEntries defines own properties, so a "__proto__" key stays a plain key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, event, childPath(at, k))]));
  }
  return value;
}

function renderString(text: string, event: InboundEvent, at: string): unknown {
  const parsed = parseString(text);
  if (!parsed.ok) throw new TemplateError(located(at, parsed.error));
  const { pieces } = parsed;
  try {
    if (pieces.length === 1 && typeof pieces[0] !== "string") {
      const value = evaluate(pieces[0], event);
      return value === undefined ? null : value;
    }
    return pieces.map((p) => (typeof p === "string" ? p : asText(evaluate(p, event)))).join("");
  } catch (error) {
    throw new TemplateError(located(at, errorMessage(error)));
  }
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function evaluate(p: Placeholder, event: InboundEvent): unknown {
  let value = resolve(p.ref, event);
  for (const filter of p.filters) {
    try {
      value = FILTERS[filter.name].apply(value, filter.args);
    } catch (error) {
      throw new TemplateError(`${errorMessage(error)} in ${p.text}`);
    }
  }
  return value;
}

function resolve(ref: Ref, event: InboundEvent): unknown {
  switch (ref.root) {
    case "body":
      return getKeys(event.body, ref.keys);
    case "headers":
      if (ref.name === null) return event.headers;
      return Object.hasOwn(event.headers, ref.name) ? event.headers[ref.name] : undefined;
    case "variable":
      if (!Object.hasOwn(event.variables, ref.name)) return undefined;
      return getKeys(event.variables[ref.name], ref.keys);
    case "event":
      if (ref.field === "received_at") return isoTime(event.receivedAt);
      return event[ref.field];
  }
}

type ParsedString = { ok: true; pieces: Piece[] } | { ok: false; error: string };

const parseCache = new Map<string, ParsedString>();

function parseString(text: string): ParsedString {
  let parsed = parseCache.get(text);
  if (parsed) return parsed;
  try {
    parsed = { ok: true, pieces: splitPlaceholders(text) };
  } catch (error) {
    parsed = { ok: false, error: errorMessage(error) };
  }
  // Templates come from config, so the set is small; the cap only guards against unbounded growth.
  if (parseCache.size >= 10_000) parseCache.clear();
  parseCache.set(text, parsed);
  return parsed;
}

/** Splits text into literal runs and placeholders; `}}` inside a quoted filter argument does not close one. */
function splitPlaceholders(text: string): Piece[] {
  const pieces: Piece[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf("{{", pos);
    if (open < 0) break;
    if (open > pos) pieces.push(text.slice(pos, open));
    let i = open + 2;
    let quote: string | null = null;
    while (i < text.length) {
      const c = text[i];
      if (quote) {
        if (c === "\\") i++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (c === "}" && text[i + 1] === "}") {
        break;
      }
      i++;
    }
    if (i >= text.length) {
      const start = JSON.stringify(text.slice(open, open + 40));
      if (quote) throw new TemplateError(`unterminated string in placeholder ${start}`);
      throw new TemplateError(`unclosed placeholder ${start}: missing "}}"`);
    }
    const whole = text.slice(open, i + 2);
    pieces.push(parsePlaceholder(whole, text.slice(open + 2, i)));
    pos = i + 2;
  }
  if (pos < text.length) pieces.push(text.slice(pos));
  return pieces;
}

type Token = { kind: "word" | "string" | "punct"; text: string };

function tokenize(inner: string, whole: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < inner.length) {
    const c = inner[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "|" || c === ":" || c === ",") {
      tokens.push({ kind: "punct", text: c });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let out = "";
      while (j < inner.length && inner[j] !== c) {
        if (inner[j] === "\\") {
          out += unescape(inner[j + 1], inner.slice(j + 2, j + 6), whole);
          j += inner[j + 1] === "u" ? 6 : 2;
        } else {
          out += inner[j];
          j++;
        }
      }
      if (j >= inner.length) throw new TemplateError(`unterminated string in ${whole}`);
      tokens.push({ kind: "string", text: out });
      i = j + 1;
    } else {
      let j = i;
      while (j < inner.length && !/[\s|:,'"]/.test(inner[j])) j++;
      tokens.push({ kind: "word", text: inner.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", "/": "/" };

function unescape(c: string | undefined, hex: string, whole: string): string {
  if (c !== undefined && Object.hasOwn(ESCAPES, c)) return ESCAPES[c];
  if (c === "u" && /^[0-9a-fA-F]{4}$/.test(hex)) return String.fromCharCode(parseInt(hex, 16));
  throw new TemplateError(`bad escape "\\${c ?? ""}" in ${whole}`);
}

function parsePlaceholder(whole: string, inner: string): Placeholder {
  const tokens = tokenize(inner, whole);
  const first = tokens[0];
  if (!first || first.kind !== "word") throw new TemplateError(`empty or malformed placeholder ${whole}: ${REFERENCE_HELP}`);
  const ref = parseRef(first.text, whole);
  const filters: Filter[] = [];
  let i = 1;
  while (i < tokens.length) {
    if (tokens[i].text !== "|" || tokens[i].kind !== "punct") {
      throw new TemplateError(`unexpected ${JSON.stringify(tokens[i].text)} in ${whole}: filters follow "|"`);
    }
    const nameToken = tokens[i + 1];
    if (!nameToken || nameToken.kind !== "word") throw new TemplateError(`missing filter name after "|" in ${whole}`);
    const name = nameToken.text;
    if (!Object.hasOwn(FILTERS, name)) {
      throw new TemplateError(`unknown filter "${name}" in ${whole} (known: ${Object.keys(FILTERS).join(", ")})`);
    }
    i += 2;
    const args: Literal[] = [];
    if (tokens[i]?.kind === "punct" && tokens[i].text === ":") {
      i++;
      for (;;) {
        const token = tokens[i];
        if (!token || token.kind === "punct") throw new TemplateError(`missing argument for filter "${name}" in ${whole}`);
        args.push(literal(token, whole));
        i++;
        if (tokens[i]?.kind === "punct" && tokens[i].text === ",") i++;
        else break;
      }
    }
    const problem = FILTERS[name].check(args);
    if (problem) throw new TemplateError(`filter "${name}" ${problem} in ${whole}`);
    filters.push({ name, args });
  }
  return { text: whole, ref, filters };
}

function literal(token: Token, whole: string): Literal {
  if (token.kind === "string") return token.text;
  if (token.text === "true") return true;
  if (token.text === "false") return false;
  if (token.text === "null") return null;
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(token.text)) return Number(token.text);
  throw new TemplateError(`bad argument ${token.text} in ${whole}: use a quoted string, a number, true, false or null`);
}

function parseRef(text: string, whole: string): Ref {
  const bad = (why: string) => new TemplateError(`${why} ${JSON.stringify(text)} in ${whole}: ${REFERENCE_HELP}`);
  if (text.startsWith("event.")) {
    const field = text.slice(6);
    if (!EVENT_FIELDS.has(field)) throw bad("unknown event field");
    return { root: "event", field: field as "id" | "type" | "source" | "received_at" };
  }
  if (!text.startsWith("webhook.")) throw bad("unknown reference");
  const rest = text.slice(8);
  if (rest === "headers") return { root: "headers", name: null };
  if (rest.startsWith("headers.")) {
    const name = rest.slice(8);
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw bad("bad header name in");
    return { root: "headers", name: name.toLowerCase() };
  }
  if (rest === "body" || rest.startsWith("body.") || rest.startsWith("body[")) {
    const keys = parsePath(rest.slice(4).replace(/^\./, ""));
    if (keys === null) throw bad("malformed path");
    return { root: "body", keys };
  }
  const keys = parsePath(rest);
  if (keys === null || keys.length === 0) throw bad("malformed path");
  return { root: "variable", name: keys[0], keys: keys.slice(1) };
}

// ───────────────────────────── filters ─────────────────────────────

interface FilterDef {
  /** What is wrong with the (literal) arguments, or null. */
  check(args: Literal[]): string | null;
  apply(value: unknown, args: Literal[]): unknown;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "array" : typeof value;
}

function isMissing(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

function stringArgs(min: number, max: number) {
  return (args: Literal[]): string | null => {
    if (args.length < min || args.length > max) {
      return min === max ? `takes ${min} argument${min === 1 ? "" : "s"}` : `takes ${min} to ${max} arguments`;
    }
    return args.every((a) => typeof a === "string") ? null : "takes string arguments";
  };
}

const noArgs = stringArgs(0, 0);

/** Strings pass; numbers and booleans are spelled out; objects and arrays are refused. */
function textOf(value: unknown, filter: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new Error(`${filter} expects a string, got ${typeName(value)}`);
}

/** A string filter: missing values pass through untouched so a later `default` can fill them. */
function textFilter(name: string, fn: (text: string, args: Literal[]) => unknown, check = noArgs): FilterDef {
  return { check, apply: (value, args) => (isMissing(value) ? value : fn(textOf(value, name), args)) };
}

const FILTERS: Record<string, FilterDef> = {
  upper: textFilter("upper", (s) => s.toUpperCase()),
  lower: textFilter("lower", (s) => s.toLowerCase()),
  trim: textFilter("trim", (s) => s.trim()),
  split: textFilter("split", (s, [sep]) => s.split(sep as string), stringArgs(1, 1)),
  join: {
    check: stringArgs(0, 1),
    apply(value, [sep = ","]) {
      if (isMissing(value)) return value;
      if (!Array.isArray(value)) return textOf(value, "join");
      return value.map(asText).join(sep as string);
    },
  },
  number: {
    check: noArgs,
    apply: (value) => (isMissing(value) ? value : asNumber(value)),
  },
  int: {
    check: noArgs,
    apply(value) {
      if (isMissing(value)) return value;
      if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : null;
      if (typeof value !== "string") return null;
      const n = parseInt(value, 10);
      return Number.isNaN(n) ? null : n;
    },
  },
  default: {
    check: (args) => (args.length === 1 ? null : "takes 1 argument"),
    apply: (value, [fallback]) => (isMissing(value) || value === "" ? fallback : value),
  },
  json: {
    check: noArgs,
    apply: (value) => JSON.stringify(value ?? null),
  },
  date: {
    check(args) {
      const problem = stringArgs(0, 2)(args);
      if (problem) return problem;
      const zone = args[1] as string | undefined;
      return zone === undefined || isTimeZone(zone) ? null : `has an unknown time zone ${JSON.stringify(zone)}`;
    },
    apply(value, [format = "iso", zone = "UTC"]) {
      if (isMissing(value)) return value;
      const ms = epochMs(value);
      return ms === null ? null : formatDate(ms, format as string, zone as string);
    },
  },
};

// ───────────────────────────── dates ─────────────────────────────

const LOCAL_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Epoch milliseconds of an ISO string or an epoch number (below 1e11 it is read as seconds); null when unreadable. */
function epochMs(value: unknown): number | null {
  const n = asNumber(value);
  if (n !== null) return Math.abs(n) < 1e11 ? n * 1000 : n;
  if (typeof value !== "string") return null;
  const m = LOCAL_DATE_TIME.exec(value.trim());
  // A date-time without an offset is UTC here, never the server's local time.
  const ms = m ? Date.parse(`${m[1]}T${m[2]}${m[3] ?? "Z"}`) : Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

const DATE_TOKENS = ["YYYY", "SSS", "MM", "DD", "HH", "mm", "ss"] as const;

/** Formats with tokens YYYY MM DD HH mm ss SSS (text in [brackets] is literal); "iso" is ISO-8601 UTC. */
function formatDate(ms: number, format: string, timeZone: string): string {
  if (format === "iso") return isoTime(ms);
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const values: Record<(typeof DATE_TOKENS)[number], string> = {
    YYYY: parts.year.padStart(4, "0"),
    MM: parts.month,
    DD: parts.day,
    HH: parts.hour === "24" ? "00" : parts.hour,
    mm: parts.minute,
    ss: parts.second,
    SSS: String(new Date(ms).getUTCMilliseconds()).padStart(3, "0"),
  };
  let out = "";
  let i = 0;
  while (i < format.length) {
    if (format[i] === "[") {
      const close = format.indexOf("]", i);
      if (close > i) {
        out += format.slice(i + 1, close);
        i = close + 1;
        continue;
      }
    }
    const token = DATE_TOKENS.find((t) => format.startsWith(t, i));
    if (token) {
      out += values[token];
      i += token.length;
    } else {
      out += format[i];
      i++;
    }
  }
  return out;
}

// ───────────────────────────── JSONata ─────────────────────────────

const compiledCache = new Map<string, jsonata.Expression>();

function compiled(expression: string): jsonata.Expression {
  let expr = compiledCache.get(expression);
  if (!expr) {
    expr = jsonata(expression, { timeout: JSONATA_TIMEOUT_MS });
    if (compiledCache.size >= 1000) compiledCache.clear();
    compiledCache.set(expression, expr);
  }
  return expr;
}

function jsonataMessage(error: unknown): string {
  const e = error as { code?: unknown; position?: unknown };
  const code = typeof e?.code === "string" ? `${e.code}: ` : "";
  const at = typeof e?.position === "number" ? ` (at position ${e.position})` : "";
  return `${code}${errorMessage(error)}${at}`;
}

/** The compile error of a JSONata expression, or null when it compiles. */
export function checkJsonata(expression: string): string | null {
  try {
    compiled(expression);
    return null;
  } catch (error) {
    return jsonataMessage(error);
  }
}

async function renderJsonata(expression: string, event: InboundEvent): Promise<Rendered> {
  let expr: jsonata.Expression;
  try {
    expr = compiled(expression);
  } catch (error) {
    return { ok: false, error: `invalid JSONata expression: ${jsonataMessage(error)}` };
  }
  const input = {
    body: event.body,
    headers: event.headers,
    variables: event.variables,
    event: { id: event.id, type: event.type, source: event.source, received_at: isoTime(event.receivedAt) },
  };
  let result: unknown;
  try {
    result = await expr.evaluate(input);
  } catch (error) {
    return { ok: false, error: `JSONata evaluation failed: ${jsonataMessage(error)}` };
  }
  if (result === undefined) return { ok: false, error: "expression produced no value" };
  if (typeof result === "function" || (result as { _jsonata_lambda?: unknown })?._jsonata_lambda) {
    return { ok: false, error: "expression produced a function, not JSON" };
  }
  try {
    return { ok: true, body: JSON.stringify(result) };
  } catch (error) {
    return { ok: false, error: `expression result is not JSON: ${errorMessage(error)}` };
  }
}
