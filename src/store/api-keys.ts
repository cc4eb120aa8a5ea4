import type { Database } from "bun:sqlite";

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

const COLUMNS = "id, name, secret_hash, scopes, source, rate_limit_per_minute, created_at, last_used_at, revoked_at";

/** The SQL verbs for API keys. */
export function apiKeyTable(store: { sqlite: Database }) {
  const { sqlite } = store;
  const insertRow = sqlite.query(
    `INSERT INTO api_keys (${COLUMNS})
     VALUES ($id, $name, $secretHash, $scopes, $source, $rateLimitPerMinute, $createdAt, NULL, NULL)`,
  );
  const selectOne = sqlite.query<RawApiKey, { id: string }>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $id`);
  const selectAll = sqlite.query<RawApiKey, []>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
  // A second revoke keeps the first timestamp; changes > 0 still says the key exists.
  const revokeRow = sqlite.query<unknown, { id: string; now: number }>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $now) WHERE id = $id`,
  );
  const touchRow = sqlite.query<unknown, { id: string; now: number }>(`UPDATE api_keys SET last_used_at = $now WHERE id = $id`);

  return {
    /** Throws on a duplicate id (SQLITE_CONSTRAINT_PRIMARYKEY). */
    insert(row: Omit<ApiKeyRow, "lastUsedAt" | "revokedAt">): void {
      insertRow.run({
        id: row.id,
        name: row.name,
        secretHash: row.secretHash,
        scopes: JSON.stringify(row.scopes),
        source: row.source,
        rateLimitPerMinute: row.rateLimitPerMinute,
        createdAt: row.createdAt,
      });
    },

    findById(id: string): ApiKeyRow | null {
      const raw = selectOne.get({ id });
      return raw ? toRow(raw) : null;
    },

    /** Every key, revoked ones included, oldest first. */
    list(): ApiKeyRow[] {
      return selectAll.all().map(toRow);
    },

    /** True when the key exists (and is now revoked). */
    revoke(id: string, now: number): boolean {
      return revokeRow.run({ id, now }).changes > 0;
    },

    touch(id: string, now: number): void {
      touchRow.run({ id, now });
    },
  };
}

export type ApiKeyTable = ReturnType<typeof apiKeyTable>;

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
