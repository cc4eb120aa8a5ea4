import type { ApiKeyRow, KeyStore } from "../types.ts";
import type { Sql } from "./connect.ts";

interface RawApiKey {
  id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  source: string | null;
  rate_limit_per_minute: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** API key rows on PostgreSQL; the same answers as ../api-keys.ts. */
export function pgKeys(sql: Sql): KeyStore {
  return {
    async insert(row) {
      try {
        await sql`
          INSERT INTO api_keys (id, name, secret_hash, scopes, source, rate_limit_per_minute, created_at)
          VALUES (${row.id}, ${row.name}, ${row.secretHash}, ${JSON.stringify(row.scopes)}, ${row.source}, ${row.rateLimitPerMinute},
            ${row.createdAt})`;
      } catch (error) {
        // The caller retries a colliding id on a message that says UNIQUE, whichever database said it.
        if ((error as { code?: string }).code === "23505") throw new Error(`UNIQUE constraint failed: api_keys.id ${row.id}`);
        throw error;
      }
    },
    async findById(id) {
      const [raw] = await sql<RawApiKey[]>`SELECT * FROM api_keys WHERE id = ${id}`;
      return raw ? toRow(raw) : null;
    },
    async list() {
      return (await sql<RawApiKey[]>`SELECT * FROM api_keys ORDER BY created_at, id`).map(toRow);
    },
    async revoke(id, now) {
      return (await sql`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${now}) WHERE id = ${id}`).count > 0;
    },
    async touch(id, now) {
      await sql`UPDATE api_keys SET last_used_at = ${now} WHERE id = ${id}`;
    },
  };
}

function toRow(r: RawApiKey): ApiKeyRow {
  return {
    id: r.id,
    name: r.name,
    secretHash: r.secret_hash,
    scopes: JSON.parse(r.scopes) as string[],
    source: r.source,
    rateLimitPerMinute: r.rate_limit_per_minute,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}
