import jsonata from "jsonata";
import { errorMessage } from "../errors.ts";
import { isoTime } from "./dates.ts";
import type { InboundEvent } from "./event.ts";
import type { Rendered } from "./render.ts";

/** Longest a JSONata expression may run per event before it is abandoned. */
const JSONATA_TIMEOUT_MS = 1000;

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

export async function renderJsonata(expression: string, event: InboundEvent): Promise<Rendered> {
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
