import { isDeepStrictEqual } from "node:util";
import type { FieldCondition, RouteConfig } from "../config/types.ts";
import type { InboundEvent } from "./event.ts";
import { getPath } from "./path.ts";

// Which routes an event takes: source, type pattern, field conditions. Pure.

/** Glob match on event types: `*` stands for any run of characters (dots included, possibly none); case-sensitive. */
export function matchesType(pattern: string, type: string): boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === type;
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!type.startsWith(first) || !type.endsWith(last)) return false;
  const limit = type.length - last.length;
  let pos = first.length;
  if (pos > limit) return false;
  // Leftmost placement of each middle piece is optimal when the only wildcard is `*`.
  for (const piece of parts.slice(1, -1)) {
    const at = type.indexOf(piece, pos);
    if (at < 0 || at + piece.length > limit) return false;
    pos = at + piece.length;
  }
  return true;
}

const NUMERIC = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** A finite number, or a string that spells one ("12.5", " 3 ", "1e3"); anything else is null. */
export function asNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && NUMERIC.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** Structural equality of JSON values (object key order does not matter); primitives never reach the deep compare. */
function jsonEqual(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "object" && typeof b === "object" && a !== null && b !== null && isDeepStrictEqual(a, b));
}

/** The value a condition path points at: `body.<path>` into the parsed body, `headers.<name>` (case-insensitive). */
export function conditionValue(path: string, event: InboundEvent): unknown {
  if (path === "body") return event.body;
  if (path.startsWith("body.")) return getPath(event.body, path.slice(5));
  if (path.startsWith("headers.")) {
    const name = path.slice(8).toLowerCase();
    return Object.hasOwn(event.headers, name) ? event.headers[name] : undefined;
  }
  return undefined;
}

function holds(condition: FieldCondition, actual: unknown): boolean {
  switch (condition.op) {
    case "equals":
      return jsonEqual(actual, condition.value);
    case "not_equals":
      return !jsonEqual(actual, condition.value);
    case "in":
      return Array.isArray(condition.value) && condition.value.some((v) => jsonEqual(actual, v));
    case "exists":
      // null counts as absent, as it does for declared variables.
      return (actual !== undefined && actual !== null) === condition.value;
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const a = asNumber(actual);
      const b = asNumber(condition.value);
      if (a === null || b === null) return false;
      if (condition.op === "gt") return a > b;
      if (condition.op === "gte") return a >= b;
      if (condition.op === "lt") return a < b;
      return a <= b;
    }
    default:
      return false;
  }
}

/** True when every condition holds (an empty list holds). */
export function matchesConditions(fields: FieldCondition[], event: InboundEvent): boolean {
  return fields.every((condition) => holds(condition, conditionValue(condition.path, event)));
}

/** The routes this event takes, in config order. */
export function matchRoutes(event: InboundEvent, routes: RouteConfig[]): RouteConfig[] {
  return routes.filter(
    (route) =>
      route.from.includes(event.source) &&
      (route.when.types.length === 0 || route.when.types.some((p) => matchesType(p, event.type))) &&
      matchesConditions(route.when.fields, event),
  );
}
