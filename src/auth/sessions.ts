import { createHash, randomBytes } from "node:crypto";
import type { Clock } from "../clock.ts";
import type { SessionRow, SessionStore } from "../store/types.ts";
import type { AdminPrincipal } from "./guard.ts";

// Sessions of the dashboard: a signed-in admin gets a random cookie value; the server keeps what it stands for, in
// memory for one instance, in the database when several share it (any of them may answer the next request).

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
/** Only the hash of a cookie value is stored: reading the table signs nobody in. */
const hashOf = (id: string) => createHash("sha256").update(id).digest("base64url");

/** In memory without `store`: a restart signs everyone out. With it, every instance sees the same sessions. */
export function createSessions({ clock, ttlMs = DEFAULT_SESSION_MS, store }: { clock: Clock; ttlMs?: number; store?: SessionStore }) {
  const sessions = new Map<string, Session>();

  const sweep = (now: number) => {
    for (const [id, s] of sessions) if (s.expiresAt <= now) sessions.delete(id);
  };
  const rowOf = (s: Session): SessionRow => ({
    idHash: hashOf(s.id),
    csrf: s.csrf,
    principal: JSON.stringify(s.principal),
    keyId: s.principal.kind === "api-key" ? s.principal.key.id : null,
    expiresAt: s.expiresAt,
    notice: s.notice ? JSON.stringify(s.notice) : null,
  });

  return {
    ttlMs,
    async start(principal: AdminPrincipal): Promise<Session> {
      const now = clock.now();
      const session: Session = { id: token(), csrf: token(), principal, expiresAt: now + ttlMs };
      if (store) await store.insert(rowOf(session), now);
      else {
        sweep(now);
        sessions.set(session.id, session);
      }
      return session;
    },
    /** The live session behind a cookie value, or null when unknown or expired. */
    async find(id: string | undefined): Promise<Session | null> {
      if (!id) return null;
      const now = clock.now();
      if (store) {
        const row = await store.find(hashOf(id), now);
        if (!row) return null;
        return { id, csrf: row.csrf, principal: JSON.parse(row.principal), expiresAt: row.expiresAt, ...(row.notice ? { notice: JSON.parse(row.notice) } : {}) };
      }
      const session = sessions.get(id);
      if (!session) return null;
      if (session.expiresAt <= now) {
        sessions.delete(id);
        return null;
      }
      return session;
    },
    /** Keeps the session's notice for the next page, wherever it is served. */
    async save(session: Session): Promise<void> {
      if (store) await store.setNotice(hashOf(session.id), session.notice ? JSON.stringify(session.notice) : null);
    },
    async end(id: string): Promise<void> {
      if (store) await store.delete(hashOf(id));
      else sessions.delete(id);
    },
    /** Ends every session signed in with this key (after it was revoked). */
    async endForKey(keyId: string): Promise<void> {
      if (store) await store.deleteForKey(keyId);
      else for (const [id, s] of sessions) if (s.principal.kind === "api-key" && s.principal.key.id === keyId) sessions.delete(id);
    },
  };
}
