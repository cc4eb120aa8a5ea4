import { timingSafeEqual } from "node:crypto";
import { SESSION_COOKIE, type Session, type Sessions } from "../auth/sessions.ts";

// Cookie and CSRF checks of the dashboard, as pure functions over a Request.

export function cookieValue(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** https as the client sees it: directly, or through a proxy that says so. */
export function behindHttps(request: Request): boolean {
  return new URL(request.url).protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
}

export function sessionCookie(request: Request, value: string, maxAgeSeconds: number): string {
  const secure = behindHttps(request) ? "; Secure" : "";
  return `${SESSION_COOKIE}=${value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

export function clearedCookie(request: Request): string {
  return sessionCookie(request, "", 0);
}

export function sessionOf(sessions: Sessions, request: Request): Promise<Session | null> {
  return sessions.find(cookieValue(request, SESSION_COOKIE));
}

/** A browser's cross-site POST carries its own Origin: refuse it whatever the form holds. */
export function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null || origin === "null") return origin === null;
  try {
    return new URL(origin).host === (request.headers.get("host") ?? new URL(request.url).host);
  } catch {
    return false;
  }
}

export function csrfValid(session: Session, presented: unknown): boolean {
  if (typeof presented !== "string") return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}
