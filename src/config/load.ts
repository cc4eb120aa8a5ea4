import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, type YAMLError } from "yaml";
import { ConfigError, type ConfigIssue } from "../errors.ts";
import { Issues, SourceMap } from "./issues.ts";
import { locate } from "./locate.ts";
import { normalise, SCHEMA_PHASE } from "./normalise.ts";
import { applyOverrides, overridesFrom } from "./overrides.ts";
import { type RawConfig, RelayYamlSchema } from "./schema.ts";
import type { Config } from "./types.ts";
import { validate } from "./validate.ts";

// relay.yaml → YAML with positions → ${ENV} → schema → semantics → env overrides → frozen Config; all problems thrown at once.

/** `file` appears in issues exactly as given; made absolute it becomes Config.file and the base of storage.path. */
export function parseConfig(text: string, file: string, env: Record<string, string | undefined>): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) throw new ConfigError(syntaxIssues(doc.errors, text, lines, file));

  const positions = new SourceMap();
  const issues = new Issues(file, positions);
  if (doc.contents === null) {
    issues.add([], "the file is empty: expected a map with sources, destinations and routes");
    throw new ConfigError(issues.list());
  }
  const { value, interpolated } = locate(doc, lines, env, positions, issues);

  issues.phase = SCHEMA_PHASE;
  validate(RelayYamlSchema, value, issues, { interpolated });
  issues.phase = "";
  if (issues.has([])) throw new ConfigError(issues.list());

  const config = normalise(value as RawConfig, file, issues);
  const envIssues: ConfigIssue[] = [];
  const overrides = overridesFrom(env, process.cwd(), envIssues);
  if (!config || issues.size > 0 || envIssues.length > 0) throw new ConfigError([...issues.list(), ...envIssues]);
  return deepFreeze(applyOverrides(config, overrides));
}

/** One issue per line with a syntax error: the parser's follow-up complaints on the same line are noise. */
function syntaxIssues(errors: YAMLError[], text: string, lines: LineCounter, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const e of errors) {
    const at = lines.linePos(e.pos[0]);
    if (issues.some((i) => i.line === at.line)) continue;
    const source = text.split("\n")[at.line - 1] ?? "";
    // Unquoted ${...} inside { } or [ ] is the most common way to hit this.
    const hint = source.includes("${") ? ' (quote values that use ${...}, e.g. secret: "${SECRET}")' : "";
    issues.push({ file, line: at.line, column: at.col, path: "", message: `YAML syntax error: ${e.message}${hint}` });
  }
  return issues;
}

/** Reads and parses a config file; see parseConfig. */
export function loadConfig(file: string, env: Record<string, string | undefined> = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new ConfigError([{ file, line: 0, column: 0, path: "", message: `cannot read the config: ${reason}` }]);
  }
  return parseConfig(text, file, env);
}

/** Freezes every object and list reachable from `value`, so no module can edit the shared config. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}
