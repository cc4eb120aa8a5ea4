import type { SourceConfig } from "../config/types.ts";
import { getPath } from "../routing/path.ts";

// Pure readings of an inbound request, shared by the HTTP shell and `relay try`.

/** Headers that carry sender credentials: stored as "[redacted]", so their presence shows but never their value. */
const CREDENTIAL_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "x-api-key",
  "x-gitlab-token",
  "x-auth-token",
  "x-webhook-secret",
]);
export const REDACTED = "[redacted]";

/** Lower-cased headers with credentials (built-in and the source's redact_headers) redacted, minus the signature header. */
export function storedHeaders(headers: Headers, source: SourceConfig): Record<string, string> {
  const skip = source.verify?.scheme.header.toLowerCase();
  const extra = source.redactHeaders ?? [];
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    const key = name.toLowerCase();
    if (key === skip) return;
    out[key] = CREDENTIAL_HEADERS.has(key) || extra.includes(key) ? REDACTED : value;
  });
  return out;
}

/** The event type from the configured place, falling back to the source name. */
export function eventTypeOf(source: SourceConfig, headers: Record<string, string>, body: unknown): string {
  const from = source.eventType;
  let value: unknown;
  if (from.from === "body") value = getPath(body, from.path);
  else if (from.from === "header") value = headers[from.name.toLowerCase()];
  if (typeof value === "string" && value.length > 0) return value;
  if (typeof value === "number") return String(value);
  return source.name;
}

/** A sender's retry marker: Idempotency-Key, else the Standard Webhooks message id. */
export function idempotencyKeyOf(headers: Headers): string | null {
  const key = headers.get("idempotency-key") ?? headers.get("webhook-id");
  if (!key) return null;
  const trimmed = key.trim();
  return trimmed.length > 0 && trimmed.length <= 255 ? trimmed : null;
}

/** JSON media types: application/json and any +json suffix. */
export function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const type = value.split(";")[0].trim().toLowerCase();
  return type === "application/json" || /^application\/[\w.+-]+\+json$/.test(type);
}
