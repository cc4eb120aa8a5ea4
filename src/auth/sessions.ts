import { randomBytes } from "node:crypto";
import type { Clock } from "../clock.ts";
import type { AdminPrincipal } from "./guard.ts";

// Sessions of the dashboard: a signed-in admin gets a random cookie value; the server keeps what it stands for.

export const SESSION_COOKIE = "relay_session";
export const DEFAULT_SESSION_MS = 8 * 60 * 60 * 1000;

export interface Session {
  id: string;
  /** Sent in every form that changes something; a request without it is refused. */
  csrf: string;
  principal: AdminPrincipal;
  expiresAt: number;
  /** What the last action did, shown once on the next page. */
  notice?: { ok: boolean; text: string };
}

export type Sessions = ReturnType<typeof createSessions>;

const token = () => randomBytes(32).toString("base64url");

/** In memory: a restart signs everyone out, and nothing secret is ever written to disk. */
export function createSessions({ clock, ttlMs = DEFAULT_SESSION_MS }: { clock: Clock; ttlMs?: number }) {
  const sessions = new Map<string, Session>();

  const sweep = (now: number) => {
    for (const [id, s] of sessions) if (s.expiresAt <= now) sessions.delete(id);
  };

  return {
    ttlMs,
    start(principal: AdminPrincipal): Session {
      const now = clock.now();
      sweep(now);
      const session = { id: token(), csrf: token(), principal, expiresAt: now + ttlMs };
      sessions.set(session.id, session);
      return session;
    },
    /** The live session behind a cookie value, or null when unknown or expired. */
    find(id: string | undefined): Session | null {
      if (!id) return null;
      const session = sessions.get(id);
      if (!session) return null;
      if (session.expiresAt <= clock.now()) {
        sessions.delete(id);
        return null;
      }
      return session;
    },
    end(id: string): void {
      sessions.delete(id);
    },
    /** Ends every session signed in with this key (after it was revoked). */
    endForKey(keyId: string): void {
      for (const [id, s] of sessions) if (s.principal.kind === "api-key" && s.principal.key.id === keyId) sessions.delete(id);
    },
  };
}
