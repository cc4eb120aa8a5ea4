import type { Issues, Path } from "./issues.ts";
import { HEADER_NAME_PATTERN } from "./schema-kit.ts";
import { formatSize, parseDuration, parseSize } from "./units.ts";

// What the builders of relay.yaml's parts share: the schema's verdict they rely on, and unit checks that report at a path.

export const HEADER_NAME = new RegExp(HEADER_NAME_PATTERN);

/** What the later checks may rely on, given what the schema already rejected. */
export interface Ctx {
  issues: Issues;
  /** Nothing at or below `path` was rejected by the schema: its value has the declared shape. */
  ok(path: Path): boolean;
  /** The value at `path` itself was not rejected (its children may have been): safe to look inside. */
  open(path: Path): boolean;
}

export function duration(value: string | number, path: Path, issues: Issues, opts: { positive?: boolean } = {}): number {
  const ms = parseDuration(value);
  if (typeof ms === "string") {
    issues.add(path, ms);
    return 0;
  }
  if (opts.positive && ms <= 0) issues.add(path, "must be longer than 0");
  return ms;
}

/** `zero`: 0 is allowed (turns a check off); `max`: the largest request the server reads, which no value may exceed. */
export function size(value: string | number, path: Path, issues: Issues, opts: { zero?: boolean; max?: number } = {}): number {
  const bytes = parseSize(value);
  if (typeof bytes === "string") {
    issues.add(path, bytes);
    return 0;
  }
  if (bytes <= 0 && !(opts.zero && bytes === 0)) issues.add(path, "must be larger than 0");
  if (opts.max !== undefined && bytes > opts.max) {
    issues.add(path, `${formatSize(bytes)} is above the ${formatSize(opts.max)} the server accepts for any request`);
  }
  return bytes;
}
