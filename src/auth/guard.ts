import { createHash, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock.ts";
import { Forbidden, RateLimited, Unauthorized } from "../errors.ts";
import type { Logger } from "../log.ts";
import { presentedKey, type ApiKeyRecord, type ApiKeys, type Scope } from "./keys.ts";
import type { RateDecision } from "./rate-limit.ts";

export type AdminPrincipal = { kind: "admin-token" } | { kind: "api-key"; key: ApiKeyRecord };

export interface GuardDeps {
  keys: ApiKeys;
  /** In memory for one process; in the store when several instances share the keys' limits. */
  limiter: { take(keyId: string, limitPerMinute: number, now: number): RateDecision | Promise<RateDecision> };
  clock: Clock;
  /** Read on every request, so a reloaded config applies at once; undefined: only admin-scoped keys. */
  adminToken: () => string | undefined;
  log: Logger;
}

export type Guard = ReturnType<typeof createGuard>;

/** The checks the HTTP layer runs before admin and ingest handlers; each returns the caller or throws a RelayError. */
export function createGuard({ keys, limiter, clock, adminToken, log }: GuardDeps) {
  const keyWithScope = async (presented: string | null, scope: Scope, path: string): Promise<ApiKeyRecord> => {
    const now = clock.now();
    const auth = await keys.authenticate(presented, now);
    if (!auth.ok) {
      if (auth.reason === "missing") throw new Unauthorized("missing API key");
      log.warn("api key rejected", { path });
      throw new Unauthorized("invalid API key");
    }
    if (!auth.key.scopes.includes(scope)) {
      log.warn("api key lacks scope", { key: auth.key.id, scope, path });
      throw new Forbidden(`API key lacks scope ${scope}`);
    }
    return auth.key;
  };

  const charge = async (key: ApiKeyRecord): Promise<void> => {
    if (key.rateLimitPerMinute === null) return;
    const decision = await limiter.take(key.id, key.rateLimitPerMinute, clock.now());
    if (!decision.allowed) {
      log.warn("api key rate limited", { key: key.id, limitPerMinute: key.rateLimitPerMinute });
      throw new RateLimited(key.rateLimitPerMinute, decision.retryAfterSeconds);
    }
  };

  return {
    /** The bootstrap admin token, or an API key with scope admin. */
    async requireAdmin(request: Request): Promise<AdminPrincipal> {
      const presented = presentedKey(request.headers);
      const token = adminToken();
      if (presented !== null && token && sameSecret(presented, token)) return { kind: "admin-token" };
      const key = await keyWithScope(presented, "admin", new URL(request.url).pathname);
      await charge(key);
      return { kind: "api-key", key };
    },

    /**
     * A key with webhook:write that may write into `source` (bound to it, or unbound).
     * With `source` null any key passes the source check and the caller decides from `key.source`.
     */
    async requireIngestKey(request: Request, source: string | null): Promise<ApiKeyRecord> {
      const key = await keyWithScope(presentedKey(request.headers), "webhook:write", new URL(request.url).pathname);
      if (source !== null && key.source !== null && key.source !== source) {
        log.warn("api key used for another source", { key: key.id, source });
        throw new Forbidden("API key is not allowed for this source");
      }
      await charge(key);
      return key;
    },
  };
}

// Hashing first gives equal-length inputs, so the compare takes the same time whatever the lengths.
function sameSecret(a: string, b: string): boolean {
  const da = createHash("sha256").update(a).digest();
  const db = createHash("sha256").update(b).digest();
  return timingSafeEqual(da, db);
}
