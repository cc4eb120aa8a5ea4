import { asc, eq, sql } from "drizzle-orm";
import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { apiKeys } from "./schema.ts";

/** One row of api_keys; only the secret's hash is ever stored. */
export interface ApiKeyRow {
  id: string;
  name: string;
  secretHash: string;
  scopes: string[];
  /** Source name the key may ingest into; null: any source. */
  source: string | null;
  /** Null: no limit. */
  rateLimitPerMinute: number | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** The API key verbs on SQLite, through drizzle (a cold path: one row per admin call or per key check). */
export function apiKeyTable(db: BunSQLiteDatabase<Record<string, unknown>>) {
  return {
    /** Throws on a duplicate id (SQLITE_CONSTRAINT_PRIMARYKEY, whose message says UNIQUE). */
    insert(row: Omit<ApiKeyRow, "lastUsedAt" | "revokedAt">): void {
      db.insert(apiKeys).values({ ...row, scopes: JSON.stringify(row.scopes) }).run();
    },

    findById(id: string): ApiKeyRow | null {
      const row = db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
      return row ? toRow(row) : null;
    },

    /** Every key, revoked ones included, oldest first. */
    list(): ApiKeyRow[] {
      return db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id)).all().map(toRow);
    },

    /** True when the key exists (and is now revoked); a second revoke keeps the first timestamp. */
    revoke(id: string, now: number): boolean {
      const revoked = db.update(apiKeys).set({ revokedAt: sql`COALESCE(${apiKeys.revokedAt}, ${now})` }).where(eq(apiKeys.id, id));
      return revoked.returning({ id: apiKeys.id }).all().length > 0;
    },
  };
}

export type ApiKeyTable = ReturnType<typeof apiKeyTable>;

function toRow(r: typeof apiKeys.$inferSelect): ApiKeyRow {
  return { ...r, scopes: JSON.parse(r.scopes) as string[] };
}
