import { and, eq, gt, lte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import type { SessionStore } from "../types.ts";
import type { Sql } from "./connect.ts";
import { sessions } from "./schema.ts";

/** Dashboard sessions on PostgreSQL through drizzle, so a request may land on any instance. */
export function pgSessions(sql: Sql): SessionStore {
  const db = drizzle(sql);
  return {
    async insert(row, now) {
      await db.delete(sessions).where(lte(sessions.expiresAt, now));
      await db.insert(sessions).values(row);
    },
    async find(idHash, now) {
      const [row] = await db.select().from(sessions).where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, now)));
      return row ?? null;
    },
    async setNotice(idHash, notice) {
      await db.update(sessions).set({ notice }).where(eq(sessions.idHash, idHash));
    },
    async delete(idHash) {
      await db.delete(sessions).where(eq(sessions.idHash, idHash));
    },
    async deleteForKey(keyId) {
      await db.delete(sessions).where(eq(sessions.keyId, keyId));
    },
  };
}
