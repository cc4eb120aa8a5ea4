import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { SourceConfig } from "../config/types.ts";
import { BadRequest } from "../errors.ts";
import type { ApiKeyRow, Store } from "../store/types.ts";

export const SCOPES = ["webhook:write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export const KEY_PREFIX = "rly_live_";
export const KEY_ID_LENGTH = 10;
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;
/** 32 random bytes: 256 bits, 43 base64url characters. */
const SECRET_BYTES = 32;
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const KEY_SHAPE = /^rly_live_([a-z0-9]{10})_([A-Za-z0-9_-]{22,128})$/;
/** Last-used stamps are written at most this often per key. */
const TOUCH_EVERY_MS = 1000;

/** A key as the rest of Relay sees it: never the secret, never its hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  source: string | null;
  rateLimitPerMinute: number | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface NewKeyInput {
  name: string;
  /** Checked against SCOPES here, so callers may pass what a user typed. */
  scopes: readonly string[];
  rateLimitPerMinute?: number;
  source?: string | null;
}

export interface CreatedKey {
  id: string;
  /** The full `rly_live_…` string; exists only in this value, shown once. */
  key: string;
  record: ApiKeyRecord;
}

/**
 * Pure: the source a new key is bound to, so that no key is issued that can never ingest.
 * `requested` undefined: the only `typed` source (the envelope API-key senders post), else the only source.
 * `null`: unbound, usable only on the URL of a source with require_api_key. Throws BadRequest saying what is missing.
 */
export function keySource(sources: Record<string, SourceConfig>, scopes: readonly string[], requested: string | null | undefined): string | null {
  const all = Object.values(sources);
  if (typeof requested === "string") {
    if (!sources[requested]) throw new BadRequest(`unknown source "${requested}"; configured: ${Object.keys(sources).join(", ") || "none"}`);
    return requested;
  }
  if (!scopes.includes("webhook:write")) return null;
  if (requested === null) {
    if (all.some((s) => s.requireApiKey)) return null;
    throw new BadRequest('a key without a source works only on the URL of a source with require_api_key, and no source has it; name a "source"');
  }
  const typed = all.filter((s) => s.kind === "typed");
  const only = typed.length === 1 ? typed[0] : all.length === 1 ? all[0] : undefined;
  if (only) return only.name;
  if (all.length === 0) throw new BadRequest("no source is configured, so a webhook:write key could not ingest anything");
  throw new BadRequest(
    `"source" is required: POST /api/webhook ingests into the key's source, and ${typed.length > 1 ? "several typed sources" : "several sources"} could take it (${(typed.length > 1 ? typed : all).map((s) => s.name).join(", ")})`,
  );
}

export type Authentication = { ok: true; key: ApiKeyRecord } | { ok: false; reason: "missing" | "invalid" };

export type ApiKeys = ReturnType<typeof createApiKeys>;

/** Issues, checks, lists and revokes API keys; every check reads the row, so a revoke applies to the next request. */
export function createApiKeys(store: Store) {
  const table = store.keys;
  // Last usage sent to the store per key id: the throttle holds while the write is still on its way.
  const touched = new Map<string, number>();
  const dummyHash = hashSecret(randomBytes(SECRET_BYTES).toString("base64url"));

  return {
    async createKey(input: NewKeyInput, now: number): Promise<CreatedKey> {
      const name = input.name.trim();
      if (!name) throw new BadRequest("name must not be empty");
      const scopes = [...new Set(input.scopes)];
      if (scopes.length === 0) throw new BadRequest("at least one scope is required");
      const unknown = scopes.filter((s) => !isScope(s));
      if (unknown.length > 0) throw new BadRequest(`unknown scope ${unknown.map((s) => `"${s}"`).join(", ")}; allowed: ${SCOPES.join(", ")}`);
      const rate = input.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE;
      if (!Number.isInteger(rate) || rate < 1) throw new BadRequest("rateLimitPerMinute must be a positive integer");

      const secret = randomBytes(SECRET_BYTES).toString("base64url");
      const row = { name, scopes: scopes as Scope[], secretHash: hashSecret(secret), source: input.source ?? null, rateLimitPerMinute: rate, createdAt: now };
      for (let attempt = 0; ; attempt++) {
        const id = randomKeyId();
        try {
          await table.insert({ id, ...row });
        } catch (error) {
          // 36^10 ids make a collision rare; retry a few times rather than fail the admin's request.
          if (attempt < 3 && String(error).includes("UNIQUE")) continue;
          throw error;
        }
        return { id, key: `${KEY_PREFIX}${id}_${secret}`, record: { id, ...row, lastUsedAt: null, revokedAt: null } };
      }
    },

    async authenticate(presented: string | null, now: number): Promise<Authentication> {
      if (presented === null || presented === "") return { ok: false, reason: "missing" };
      const parsed = parseKey(presented);
      if (!parsed) return { ok: false, reason: "invalid" };
      const row = await table.findById(parsed.id);
      // Unknown ids still pay for a hash and a compare, so timing does not tell which ids exist.
      const matches = hashesEqual(hashSecret(parsed.secret), row?.secretHash ?? dummyHash);
      if (!row || !matches || row.revokedAt !== null) return { ok: false, reason: "invalid" };
      const last = Math.max(row.lastUsedAt ?? -Infinity, touched.get(row.id) ?? -Infinity);
      if (now - last >= TOUCH_EVERY_MS) {
        // Recorded in the background: a write lock held elsewhere must never stall an authenticated request.
        touched.set(row.id, now);
        table.touch(row.id, now).catch(() => {});
      }
      return { ok: true, key: toRecord(row) };
    },

    async list(): Promise<ApiKeyRecord[]> {
      return (await table.list()).map(toRecord);
    },

    async find(id: string): Promise<ApiKeyRecord | null> {
      const row = await table.findById(id);
      return row ? toRecord(row) : null;
    },

    /** True when the key exists; revoking twice keeps the first time. */
    revoke(id: string, now: number): Promise<boolean> {
      return table.revoke(id, now);
    },
  };
}

/** Splits `rly_live_<id>_<secret>`; the secret may itself contain `_`, so the id is taken by length. */
export function parseKey(presented: string): { id: string; secret: string } | null {
  const m = KEY_SHAPE.exec(presented);
  return m ? { id: m[1], secret: m[2] } : null;
}

/** The key presented in `x-api-key`, else in `Authorization: Bearer`, else null. */
export function presentedKey(headers: Headers): string | null {
  const direct = headers.get("x-api-key")?.trim();
  if (direct) return direct;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "");
  return bearer ? bearer[1] : null;
}

// Plain SHA-256 suffices: a 256-bit random secret cannot be brute-forced from its hash, so a slow hash or pepper adds nothing.
function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

function hashesEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, "hex");
  const b = Buffer.from(bHex, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

function randomKeyId(): string {
  let id = "";
  while (id.length < KEY_ID_LENGTH) {
    for (const byte of randomBytes(KEY_ID_LENGTH * 2)) {
      // 252 = 7 * 36: rejecting the rest keeps every character equally likely.
      if (byte < 252 && id.length < KEY_ID_LENGTH) id += ID_ALPHABET[byte % 36];
    }
  }
  return id;
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes.filter(isScope),
    source: row.source,
    rateLimitPerMinute: row.rateLimitPerMinute,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}
