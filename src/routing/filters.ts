import { epochMs, formatDate, isTimeZone } from "./dates.ts";
import { asNumber } from "./match.ts";

// The filters of a template placeholder (`{{ x | upper | default: "n/a" }}`): each checks its literal arguments once,
// when the config is loaded, then applies to a value.

export type Literal = string | number | boolean | null;

/** How a value is written inside a larger string: missing is empty, objects as JSON. */
export function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

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

export const FILTERS: Record<string, FilterDef> = {
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
