import type { SourceConfig, VariableConfig } from "../config/types.ts";
import { TypedBodySchema } from "./typed.ts";

// Pure: the JSON Schema of what a source accepts, for the OpenAPI document. URL ids stay out of it (they are secrets).

export type JsonSchema = Record<string, unknown>;

/** One schema per source, titled with its name; declared variables become (nested) properties. */
export function sourceRequestSchema(source: SourceConfig): JsonSchema {
  const base = source.kind === "typed" ? typedSchema() : variablesSchema(source.variables);
  return { title: `source "${source.name}"`, ...base };
}

/** The ingest request body: any one of the configured sources' schemas. */
export function ingestRequestSchema(sources: SourceConfig[]): JsonSchema {
  if (sources.length === 0) return { type: "object", additionalProperties: true };
  if (sources.length === 1) return sourceRequestSchema(sources[0]);
  return { oneOf: sources.map(sourceRequestSchema) };
}

function variablesSchema(vars: VariableConfig[]): JsonSchema {
  const root: JsonSchema = { type: "object", additionalProperties: true };
  for (const v of vars) {
    const segments = v.path.split(".");
    let node = root;
    for (const [i, segment] of segments.entries()) {
      const last = i === segments.length - 1;
      const properties = (node.properties ??= {}) as Record<string, JsonSchema>;
      if (v.required) {
        const required = (node.required ??= []) as string[];
        if (!required.includes(segment)) required.push(segment);
      }
      if (last) {
        properties[segment] = {
          type: v.type,
          ...(v.description ? { description: v.description } : {}),
          ...(v.default !== undefined ? { default: v.default } : {}),
          ...(v.path !== v.name ? { "x-relay-variable": v.name } : {}),
        };
      } else {
        node = properties[segment] ??= { type: "object", additionalProperties: true };
      }
    }
  }
  return root;
}

function typedSchema(): JsonSchema {
  // The schemas the ingest check compiles, as plain JSON; their `type` literals make them exclusive.
  return { oneOf: JSON.parse(JSON.stringify(TypedBodySchema.anyOf)) as JsonSchema[] };
}
