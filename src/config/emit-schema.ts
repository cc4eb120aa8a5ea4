import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { RelayYamlSchema } from "./schema.ts";

// Writes config/relay.schema.json from the TypeBox schema: `bun src/config/emit-schema.ts`.

export const SCHEMA_FILE = fileURLToPath(new URL("../../config/relay.schema.json", import.meta.url));

/** The JSON Schema text exactly as committed (2-space indent, trailing newline). */
export function schemaJson(): string {
  const { title, description, ...rest } = RelayYamlSchema;
  // JSON.stringify skips TypeBox's symbol keys, leaving plain JSON Schema.
  return `${JSON.stringify({ $schema: "http://json-schema.org/draft-07/schema#", title, description, ...rest }, null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(SCHEMA_FILE, schemaJson());
  console.log(`wrote ${SCHEMA_FILE}`);
}
