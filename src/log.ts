// Structured JSON logs, one line per record; callers never pass secrets, and redact() guards the known shapes.
import { writeSync } from "node:fs";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Lines gathered for up to `flushMs` (or `maxLines`) and written to stdout at once: under load a write per
 * line costs more than the line. Whatever is still buffered goes out synchronously at exit.
 */
export function bufferedStdout(flushMs = 10, maxLines = 256): (line: string) => void {
  let buffered: string[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (buffered.length === 0) return;
    const text = buffered.join("\n") + "\n";
    buffered = [];
    process.stdout.write(text);
  };
  process.on("exit", () => {
    if (buffered.length > 0) writeSync(1, buffered.join("\n") + "\n");
    buffered = [];
  });
  return (line) => {
    buffered.push(line);
    if (buffered.length >= maxLines) flush();
    else if (!timer) timer = setTimeout(flush, flushMs);
  };
}

export function createLogger(
  write: (line: string) => void = bufferedStdout(),
  level: LogLevel = (process.env.RELAY_LOG_LEVEL as LogLevel) || "info",
): Logger {
  const min = ORDER[level] ?? ORDER.info;
  // Under load many lines share a millisecond: format its timestamp once.
  let lastMs = NaN;
  let lastTime = "";
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = new Date(now).toISOString();
    }
    const head = `{"time":"${lastTime}","level":"${lvl}","msg":${JSON.stringify(msg)}`;
    const rest = fields ? JSON.stringify(redact(fields)) : "{}";
    write(rest === "{}" ? `${head}}` : `${head},${rest.slice(1)}`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

const SECRET_KEY = /secret|token|password|authorization|api[-_]?key|signature/i;

/** Masks values under secret-looking keys, credentials in URLs and Relay API keys anywhere in strings. */
const secretKeys = new Map<string, boolean>();
const isSecretKey = (k: string): boolean => {
  let secret = secretKeys.get(k);
  if (secret === undefined) {
    secret = SECRET_KEY.test(k);
    // Field names come from code, not input; the bound only guards against a caller passing data as keys.
    if (secretKeys.size < 1000) secretKeys.set(k, secret);
  }
  return secret;
};

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in fields) {
    const v = fields[k];
    if (isSecretKey(k)) out[k] = "[redacted]";
    else if (typeof v === "string") out[k] = redactString(v);
    else if (v && typeof v === "object" && !Array.isArray(v)) out[k] = redact(v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

export function redactString(s: string): string {
  // Most strings hold none of the shapes: skip the regular expressions for them.
  if (!s.includes("://") && !s.includes("rly_") && !s.includes("whsec_")) return s;
  return s
    .replace(/(\w+:\/\/)[^/@\s]+@/g, "$1***@")
    .replace(/rly_(live|test)_[A-Za-z0-9]+_[A-Za-z0-9_-]+/g, "rly_$1_***")
    .replace(/whsec_[A-Za-z0-9+/=]+/g, "whsec_***");
}

/**
 * An error line that may repeat many times a second (storage failing): the first one is written at once, the rest of
 * each interval are counted and reported with the next line written, as `repeated`.
 */
export function repeatedError(log: Logger, now: () => number, intervalMs = 10_000) {
  const recent = new Map<string, { at: number; suppressed: number }>();
  return (msg: string, fields: Record<string, unknown> = {}): void => {
    const key = `${msg}\u0000${String(fields.error ?? "")}`;
    const t = now();
    const entry = recent.get(key);
    if (entry && t - entry.at < intervalMs) {
      entry.suppressed++;
      return;
    }
    log.error(msg, entry && entry.suppressed > 0 ? { ...fields, repeated: entry.suppressed } : fields);
    if (recent.size > 100) recent.clear();
    recent.set(key, { at: t, suppressed: 0 });
  };
}
