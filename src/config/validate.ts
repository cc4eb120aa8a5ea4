import { Kind, type TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import { type Issues, type Path, closest, didYouMean } from "./issues.ts";
import { pathKey } from "./locate.ts";
import { PATTERN_HINTS, STATUS_PATTERN } from "./schema-kit.ts";
import { DURATION_PATTERN, SIZE_PATTERN, parseDuration, parseSize } from "./units.ts";

// TypeBox's verdict on the raw document, turned into located issues an admin can act on.

export interface ValidateOptions {
  /** Paths (see pathKey) whose value came from ${...}: a type error there gets a hint about quoting. */
  interpolated?: Set<string>;
}

/** Reports every schema violation of `value`; returns true when there was none. */
export function validate(schema: TSchema, value: unknown, issues: Issues, options: ValidateOptions = {}): boolean {
  const before = issues.size;
  for (const error of relevant(Value.Errors(schema, value))) report(error, value, issues, options);
  return issues.size === before;
}

/** Drops TypeBox's second complaint about a missing key (its type check of `undefined`). */
function relevant(errors: Iterable<ValueError>): ValueError[] {
  return [...errors].filter((e) => e.value !== undefined || e.type === ValueErrorType.ObjectRequiredProperty);
}

function report(e: ValueError, root: unknown, issues: Issues, options: ValidateOptions): void {
  const path = toPath(root, e.path);
  const s = e.schema as TSchema & Record<string, any>;
  const last = String(path[path.length - 1] ?? "");
  const got = `, got ${describeValue(e.value)}`;
  const quoteHint =
    options.interpolated?.has(pathKey(path)) && typeof e.value !== "string"
      ? " (the value came from ${...}; quote it to keep it a string)"
      : "";
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return issues.add(path, `missing required key "${last}"`, "parent");
    case ValueErrorType.ObjectAdditionalProperties:
      return issues.add(path, `unknown key "${last}"${didYouMean(last, Object.keys(s.properties ?? {}))}`, "key");
    case ValueErrorType.Union:
      return reportUnion(e, path, root, issues, options);
    case ValueErrorType.Literal:
      return issues.add(path, `expected ${JSON.stringify(s.const)}${got}`);
    case ValueErrorType.Object:
      return issues.add(path, `expected a map${got}`);
    case ValueErrorType.Array:
      return issues.add(path, `expected a list${got}`);
    case ValueErrorType.String:
      if (s.pattern === DURATION_PATTERN && typeof e.value === "number") return issues.add(path, String(parseDuration(e.value)));
      return issues.add(path, `expected a string${got}${quoteHint}`);
    case ValueErrorType.Number:
      return issues.add(path, `expected a number${got}`);
    case ValueErrorType.Integer:
      return issues.add(path, `expected a whole number${got}`);
    case ValueErrorType.Boolean:
      return issues.add(path, `expected true or false${got}`);
    case ValueErrorType.Null:
      return issues.add(path, `expected null${got}`);
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return issues.add(path, `must be at least ${s.minimum}, got ${e.value}`);
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return issues.add(path, `must be at most ${s.maximum}, got ${e.value}`);
    case ValueErrorType.StringMinLength:
      return issues.add(path, s.minLength === 1 ? "must not be empty" : `must be at least ${s.minLength} characters long`);
    case ValueErrorType.StringMaxLength:
      return issues.add(path, `must be at most ${s.maxLength} characters long`);
    case ValueErrorType.ArrayMinItems:
      return issues.add(path, s.minItems === 1 ? "must not be an empty list" : `must have at least ${s.minItems} items`);
    case ValueErrorType.StringPattern:
      return issues.add(path, patternMessage(s.pattern, String(e.value)));
    default:
      return issues.add(path, e.message);
  }
}

function patternMessage(pattern: string, value: string): string {
  if (pattern === DURATION_PATTERN) return String(parseDuration(value));
  if (pattern === SIZE_PATTERN) return String(parseSize(value));
  const hint = PATTERN_HINTS[pattern];
  return hint ? `invalid value "${value}": expected ${hint}` : `invalid value "${value}": must match ${pattern}`;
}

/** TypeBox only says "expected union value": report the errors of the alternative the admin most likely meant. */
function reportUnion(e: ValueError, path: Path, root: unknown, issues: Issues, options: ValidateOptions): void {
  const variants = (e.schema as TSchema & { anyOf: TSchema[] }).anyOf;
  const value = e.value;
  const fitting = variants.map((v, i) => ({ v, i })).filter(({ v }) => fitsKind(v, value));
  if (fitting.length === 0) {
    return issues.add(path, `expected ${describeSchema(e.schema)}, got ${describeValue(value)}`);
  }
  if (fitting.every(({ v }) => isLiteral(v))) {
    const choices = variants.filter(isLiteral).map((v) => (v as any).const);
    const others = [...new Set(variants.filter((v) => !isLiteral(v)).map(describeSchema))];
    const list = choices.map((c) => JSON.stringify(c)).join(", ");
    const near = typeof value === "string" ? closest(value, choices.map(String)) : undefined;
    const suggestion = near === undefined ? "" : ` (did you mean "${near}"?)`;
    const alternatives = others.length > 0 ? `, or ${others.join(" or ")}` : "";
    return issues.add(path, `unknown value ${JSON.stringify(value)}: expected one of ${list}${alternatives}${suggestion}`);
  }
  const candidates = fitting
    .filter(({ v }) => !isLiteral(v))
    .map(({ v, i }) => ({ v, errors: relevant(e.errors[i] ?? []) }));
  const fewest = Math.min(...candidates.map((c) => c.errors.length));
  const best = candidates.filter((c) => c.errors.length === fewest);
  if (best.length > 1 && best.every((c) => kindOf(c.v) === "object")) {
    const keys = best.flatMap((c) => ((c.v as any).required ?? []) as string[]).map((k) => `"${k}"`);
    return issues.add(path, `expected a map with exactly one of the keys ${keys.join(", ")}`);
  }
  for (const error of best[0].errors) report(error, root, issues, options);
}

function isLiteral(s: TSchema): boolean {
  return s[Kind] === "Literal";
}

function kindOf(s: TSchema): string {
  const k = s[Kind];
  if (k === "Literal") return typeof (s as any).const;
  if (k === "Record") return "object";
  return String(k).toLowerCase();
}

/** Could `value` be an instance of `s` at the outermost level? */
function fitsKind(s: TSchema, value: unknown): boolean {
  switch (kindOf(s)) {
    case "union":
      return (s as any).anyOf.some((v: TSchema) => fitsKind(v, value));
    case "unknown":
    case "any":
      return true;
    case "string":
      return typeof value === "string";
    case "number":
    case "integer":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return false;
  }
}

function describeSchema(s: TSchema): string {
  const any = s as any;
  if (any.anyOf?.some((v: any) => v.pattern === DURATION_PATTERN)) return 'a duration such as "10s" or a number of milliseconds';
  if (any.anyOf?.some((v: any) => v.pattern === SIZE_PATTERN)) return 'a size such as "100kb" or a number of bytes';
  if (any.anyOf?.some((v: any) => v.pattern === STATUS_PATTERN)) return `${PATTERN_HINTS[STATUS_PATTERN]}`;
  switch (kindOf(s)) {
    case "union": {
      const parts = [...new Set((any.anyOf as TSchema[]).map(describeSchema))];
      return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(", ")} or ${parts[parts.length - 1]}`;
    }
    case "string":
      return isLiteral(s) ? JSON.stringify(any.const) : "a string";
    case "number":
      return isLiteral(s) ? JSON.stringify(any.const) : "a number";
    case "integer":
      return "a whole number";
    case "boolean":
      return "true or false";
    case "null":
      return "null";
    case "array":
      return any.items?.anyOf?.some((v: any) => v.pattern === DURATION_PATTERN) ? "a list of durations" : "a list";
    case "object":
      return "a map";
    default:
      return "a value";
  }
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return `the number ${value}`;
  return String(value);
}

/** A JSON pointer from TypeBox as keys and indexes, reading the value to tell `[2]` from a key named "2". */
function toPath(root: unknown, pointer: string): Path {
  if (pointer === "") return [];
  const out: Array<string | number> = [];
  let current: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(current) && /^\d+$/.test(key)) {
      out.push(Number(key));
      current = current[Number(key)];
    } else {
      out.push(key);
      current = current !== null && typeof current === "object" && Object.hasOwn(current, key) ? (current as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}
