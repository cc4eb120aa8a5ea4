import { asc, eq, sql as raw } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import type { ApiKeyRow, KeyStore } from "../types.ts";
import type { Sql } from "./connect.ts";
import { apiKeys } from "./schema.ts";

/** API key rows on PostgreSQL through drizzle; the same answers as ../api-keys.ts. */
export function pgKeys(sql: Sql): KeyStore {
  const db = drizzle(sql);
  return {
    async insert(row) {
      try {
        await db.insert(apiKeys).values({ ...row, scopes: JSON.stringify(row.scopes) });
      } catch (error) {
        // The caller retries a colliding id on a message that says UNIQUE, whichever database said it.
        if (codeOf(error) === "23505") throw new Error(`UNIQUE constraint failed: api_keys.id ${row.id}`);
        throw error;
      }
    },
    async findById(id) {
      const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
      return row ? toRow(row) : null;
    },
    async list() {
      return (await db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))).map(toRow);
    },
    async revoke(id, now) {
      // A second revoke keeps the first time; a row found still says the key exists.
      const done = await db
        .update(apiKeys)
        .set({ revokedAt: raw`COALESCE(${apiKeys.revokedAt}, ${now})` })
        .where(eq(apiKeys.id, id))
        .returning({ id: apiKeys.id });
      return done.length > 0;
    },
    async touch(id, now) {
      // Requests answered out of order never move the time back.
      await db.update(apiKeys).set({ lastUsedAt: raw`GREATEST(COALESCE(${apiKeys.lastUsedAt}, 0), ${now})` }).where(eq(apiKeys.id, id));
    },
  };
}

/** drizzle wraps the driver's error; the SQLSTATE is on it or on its cause. */
function codeOf(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code;
}

function toRow(r: typeof apiKeys.$inferSelect): ApiKeyRow {
  return { ...r, scopes: JSON.parse(r.scopes) as string[] };
}
