import { errorMessage } from "../errors.ts";
import { isoTime } from "./dates.ts";
import type { InboundEvent } from "./event.ts";
import { asText, FILTERS, type Literal } from "./filters.ts";
import { getKeys, parsePath } from "./path.ts";

// Templates: a JSON value whose strings hold `{{ reference | filter }}` placeholders, parsed once and cached.

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
 * `nearest`: the declared name closest to a misspelt one, for a "did you mean" hint.
 */
export function checkTemplate(
  template: unknown,
  variables?: Record<string, readonly string[]>,
  nearest: (name: string, declared: string[]) => string | undefined = () => undefined,
): string[] {
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
      const near = declared.includes(name) ? undefined : nearest(name, declared);
      const hint = declared.includes(name)
        ? "; declare it there too, or use webhook.body.<path>"
        : near !== undefined
          ? ` (did you mean webhook.${near}?)`
          : "; declare it, or use webhook.body.<path>";
      problems.push(located(at, `webhook.${name} is not a variable of source ${lacking.map((s) => `"${s}"`).join(", ")}${hint}`));
    }
  });
  return problems;
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

export function renderValue(value: unknown, event: InboundEvent, at: string): unknown {
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
