// Errors are values with a machine code, an HTTP status, a human message and the response headers they need;
// the edge renders {"error": message, "code": code}.
export class RelayError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Response headers this error needs (a 429's or 503's Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "RelayError";
  }
}

export class NotFound extends RelayError {
  constructor(message: string) {
    super("not_found", 404, message);
  }
}

export class BadRequest extends RelayError {
  constructor(message: string, code = "bad_request") {
    super(code, 400, message);
  }
}

export class Unauthorized extends RelayError {
  constructor(message: string) {
    super("unauthorized", 401, message);
  }
}

export class Forbidden extends RelayError {
  constructor(message: string) {
    super("forbidden", 403, message);
  }
}

export class Conflict extends RelayError {
  constructor(message: string) {
    super("conflict", 409, message);
  }
}

export class PayloadTooLarge extends RelayError {
  constructor(message: string) {
    super("payload_too_large", 413, message);
  }
}

export class UnsupportedMediaType extends RelayError {
  constructor(message: string) {
    super("unsupported_media_type", 415, message);
  }
}

/** 429 with the Retry-After the caller should honour. */
export class RateLimited extends RelayError {
  constructor(limitPerMinute: number, retryAfterSeconds: number) {
    super("rate_limited", 429, `rate limit of ${limitPerMinute} requests per minute exceeded`, { "retry-after": String(retryAfterSeconds) });
  }
}

/** 503: Relay cannot take this now (storage failing, write lock held, disk nearly full, database unreachable); retry later. */
export class Unavailable extends RelayError {
  constructor(message: string, retryAfterSeconds: number, code = "unavailable") {
    super(code, 503, message, { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** 500 whose message is safe to show: never the underlying error's text, which may name host paths. */
export class Internal extends RelayError {
  constructor() {
    super("internal", 500, "internal error");
  }
}

/** One problem in relay.yaml, located by file, line and key path. */
export interface ConfigIssue {
  file: string;
  line: number; // 1-based; 0 when unknown
  column: number; // 1-based; 0 when unknown
  path: string; // e.g. routes[2].to
  message: string;
}

export class ConfigError extends RelayError {
  constructor(readonly issues: ConfigIssue[]) {
    super("config_invalid", 500, issues.map(formatConfigIssue).join("\n"));
    this.name = "ConfigError";
  }
}

export function formatConfigIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return `${where}: ${i.path ? i.path + ": " : ""}${i.message}`;
}

/** What to say about anything thrown: an Error's message, a message-bearing object's (JSONata throws those), or its text. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  return String(error);
}
