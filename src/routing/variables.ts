import type { FieldType, VariableConfig } from "../config/types.ts";
import { getPath } from "./path.ts";

// A source's declared variables, read from the body and checked against their declared types.

export type VariablesResult = { ok: true; values: Record<string, unknown> } | { ok: false; errors: string[] };

/** The JSON type of a value as a variable declaration names it; null for null/undefined. */
export function jsonTypeOf(value: unknown): FieldType | "null" {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "array";
  const t = typeof value;
  if (t === "string" || t === "number" || t === "boolean") return t;
  return "object";
}

/**
 * Reads every declared variable; collects all problems rather than stopping at the first.
 * Missing (absent or null) and required → "<name>: required"; missing and optional → the default, or left out.
 */
export function readVariables(vars: VariableConfig[], body: unknown): VariablesResult {
  const values: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const v of vars) {
    const value = getPath(body, v.path || v.name);
    if (value === undefined || value === null) {
      if (v.required) errors.push(`${v.name}: required`);
      else if (v.default !== undefined) values[v.name] = v.default;
      continue;
    }
    const actual = jsonTypeOf(value);
    if (actual !== v.type) {
      errors.push(`${v.name}: expected ${v.type}, got ${actual}`);
      continue;
    }
    values[v.name] = value;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values };
}
