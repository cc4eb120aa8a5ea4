// Errors are values with a machine code, an HTTP status and a human message; the edge renders {"error": message}.
export class RelayError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
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

/** 503 with Retry-After: the database cannot be reached or cannot write now; the sender should try again. */
export class StoreUnavailable extends RelayError {
  readonly headers: Record<string, string>;
  constructor(message: string, retryAfterSeconds = 5) {
    super("store_unavailable", 503, message);
    this.headers = { "retry-after": String(retryAfterSeconds) };
  }
}
