// Durations and sizes as admins write them in relay.yaml, and back again for display.

const DURATION_UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const SIZE_UNITS = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

/** One or more `<number><unit>` parts, e.g. "250ms", "1.5h", "1h30m". Shared with the JSON Schema. */
export const DURATION_PATTERN = "^\\s*(?:(?:\\d+(?:\\.\\d+)?|\\.\\d+)\\s*(?:ms|s|m|h|d)\\s*)+$";
/** A number and a unit b, kb, mb or gb (any case, 1 kb = 1024 bytes), e.g. "100kb". */
export const SIZE_PATTERN = "^\\s*(?:\\d+(?:\\.\\d+)?|\\.\\d+)\\s*(?:[bB]|[kKmMgG][bB])\\s*$";

const DURATION_RE = new RegExp(DURATION_PATTERN);
const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)/g;
const SIZE_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(b|kb|mb|gb)\s*$/i;
const BARE_NUMBER = /^\s*[-+]?(\d+(\.\d+)?|\.\d+)\s*$/;

/** Milliseconds for "10s", "1.5h", "1h30m", …; an error message (string) otherwise, a bare number included. */
export function parseDuration(input: string | number): number | string {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0) return `invalid duration ${input}: use a number and a unit (ms, s, m, h, d), e.g. "10s"`;
    return `duration ${input} needs a unit: ms, s, m, h or d (did you mean "${input}s"?)`;
  }
  if (input.trim() === "") return "empty duration: use a number and a unit, e.g. \"10s\"";
  if (BARE_NUMBER.test(input)) return `duration "${input}" needs a unit: ms, s, m, h or d (did you mean "${input.trim()}s"?)`;
  if (!DURATION_RE.test(input)) return `invalid duration "${input}": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"`;
  let total = 0;
  for (const [, amount, unit] of input.matchAll(DURATION_PART)) {
    total += Number(amount) * DURATION_UNITS[unit as keyof typeof DURATION_UNITS];
  }
  return Math.round(total);
}

/** Bytes for "512b", "100kb", "1mb", "1gb" (1 kb = 1024 bytes, any case), or a number (already bytes). Error message otherwise. */
export function parseSize(input: string | number): number | string {
  if (typeof input === "number") {
    if (!Number.isInteger(input) || input < 0) return `invalid size ${input}: must be a whole, non-negative number of bytes`;
    return input;
  }
  if (input.trim() === "") return "empty size: use a number and a unit, e.g. \"100kb\"";
  if (BARE_NUMBER.test(input)) return `size "${input}" needs a unit: b, kb, mb or gb (e.g. "${input.trim()}kb")`;
  const m = SIZE_RE.exec(input);
  if (!m) return `invalid size "${input}": use a number and a unit (b, kb, mb, gb), e.g. "100kb"`;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase() as keyof typeof SIZE_UNITS]);
}

/** Display form of a byte count in the largest whole unit: 16777216 → "16mb", 1536 → "1536b". */
export function formatSize(bytes: number): string {
  for (const unit of ["gb", "mb", "kb"] as const) {
    if (bytes >= SIZE_UNITS[unit] && bytes % SIZE_UNITS[unit] === 0) return `${bytes / SIZE_UNITS[unit]}${unit}`;
  }
  return `${bytes}b`;
}
