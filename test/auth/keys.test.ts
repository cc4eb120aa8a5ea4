import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createApiKeys, parseKey, presentedKey, type ApiKeys } from "../../src/auth/keys.ts";
import { openStore, type SqliteStore as Store } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

const T = Date.UTC(2026, 4, 5, 12, 0, 0);
let tmp: ReturnType<typeof tempDir>;
let store: Store;
let keys: ApiKeys;

beforeEach(async () => {
  tmp = tempDir("relay-keys-");
  store = openStore(join(tmp.dir, "relay.db"));
  keys = createApiKeys(store);
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

const secretOf = (key: string) => parseKey(key)!.secret;

describe("key format", () => {
  test("rly_live_ + 10-char id + _ + a base64url secret of at least 128 bits", async () => {
    const created = await keys.createKey({ name: "shop", scopes: ["webhook:write"] }, T);
    expect(created.key).toMatch(/^rly_live_[a-z0-9]{10}_[A-Za-z0-9_-]+$/);
    expect(created.key.startsWith(`rly_live_${created.id}_`)).toBe(true);
    const secret = secretOf(created.key);
    expect(Buffer.from(secret, "base64url").length * 8).toBeGreaterThanOrEqual(128);
    expect(Buffer.from(secret, "base64url").toString("base64url")).toBe(secret);
  });

  test("ids and secrets do not repeat over many keys, and secret characters are spread out", async () => {
    const made = await Promise.all(Array.from({ length: 300 }, (_, i) => keys.createKey({ name: `k${i}`, scopes: ["webhook:write"] }, T)));
    expect(new Set(made.map((k) => k.id)).size).toBe(300);
    expect(new Set(made.map((k) => secretOf(k.key))).size).toBe(300);
    const chars = new Set(made.flatMap((k) => [...secretOf(k.key)]));
    // 300 × 43 draws from 64 symbols leave none unseen unless the generator is broken.
    expect(chars.size).toBe(64);
    const idChars = new Set(made.flatMap((k) => [...k.id]));
    expect(idChars.size).toBe(36);
  });

  test("a secret containing _ still parses: the id is taken by length", async () => {
    expect(parseKey("rly_live_abc123xyz0_se_cr_et-AAAAAAAAAAAAAAAAAAAAAAAA")).toEqual({
      id: "abc123xyz0",
      secret: "se_cr_et-AAAAAAAAAAAAAAAAAAAAAAAA",
    });
    expect(parseKey("rly_live_short_AAAAAAAAAAAAAAAAAAAAAAAAAAAA")).toBeNull();
    expect(parseKey("rly_test_abc123xyz0_AAAAAAAAAAAAAAAAAAAAAAAAAAAA")).toBeNull();
    expect(parseKey("rly_live_ABC123XYZ0_AAAAAAAAAAAAAAAAAAAAAAAAAAAA")).toBeNull();
  });

  test("keys are read from x-api-key or Authorization: Bearer", async () => {
    expect(presentedKey(new Headers({ "x-api-key": "rly_live_a" }))).toBe("rly_live_a");
    expect(presentedKey(new Headers({ authorization: "Bearer rly_live_b" }))).toBe("rly_live_b");
    expect(presentedKey(new Headers({ authorization: "bearer  rly_live_c " }))).toBe("rly_live_c");
    expect(presentedKey(new Headers({ authorization: "Basic dXNlcjpwYXNz" }))).toBeNull();
    expect(presentedKey(new Headers())).toBeNull();
  });
});

describe("storage", () => {
  test("the secret appears nowhere in the database files; only its SHA-256 does", async () => {
    const created = await keys.createKey({ name: "shop", scopes: ["webhook:write"], source: "shop" }, T);
    expect((await keys.authenticate(created.key, T + 5000)).ok).toBe(true);
    const secret = secretOf(created.key);
    const hash = createHash("sha256").update(secret).digest("hex");
    const dbFile = join(tmp.dir, "relay.db");
    const files = () => [dbFile, `${dbFile}-wal`].filter(existsSync).map((f) => readFileSync(f));

    const walBefore = files();
    store.sqlite.exec("PRAGMA wal_checkpoint(FULL)");
    for (const bytes of [...walBefore, ...files()]) {
      expect(bytes.includes(Buffer.from(secret))).toBe(false);
      expect(bytes.includes(Buffer.from(created.key))).toBe(false);
    }
    // The same byte search does find what is stored, so the absence above means something.
    expect(readFileSync(dbFile).includes(Buffer.from(hash))).toBe(true);
  });
});

describe("authenticate", () => {
  test("a valid key passes with its scopes, source and limit", async () => {
    const created = await keys.createKey({ name: "shop", scopes: ["webhook:write", "admin"], source: "shop", rateLimitPerMinute: 30 }, T);
    const auth = await keys.authenticate(created.key, T);
    expect(auth).toMatchObject({ ok: true, key: { id: created.id, scopes: ["webhook:write", "admin"], source: "shop", rateLimitPerMinute: 30 } });
  });

  test("missing, malformed, unknown id, wrong secret and revoked are told apart only as missing vs invalid", async () => {
    const created = await keys.createKey({ name: "shop", scopes: ["webhook:write"] }, T);
    const other = await keys.createKey({ name: "other", scopes: ["webhook:write"] }, T);
    expect(await keys.authenticate(null, T)).toEqual({ ok: false, reason: "missing" });
    expect(await keys.authenticate("", T)).toEqual({ ok: false, reason: "missing" });
    expect(await keys.authenticate("not-a-key", T)).toEqual({ ok: false, reason: "invalid" });
    expect(await keys.authenticate(`rly_live_zzzzzzzzzz_${secretOf(created.key)}`, T)).toEqual({ ok: false, reason: "invalid" });
    expect(await keys.authenticate(`rly_live_${created.id}_${secretOf(other.key)}`, T)).toEqual({ ok: false, reason: "invalid" });
    expect(await keys.revoke(created.id, T + 1)).toBe(true);
    expect(await keys.authenticate(created.key, T + 2)).toEqual({ ok: false, reason: "invalid" });
    expect((await keys.authenticate(other.key, T + 2)).ok).toBe(true);
  });

  test("revoke applies to the very next check and reports unknown ids", async () => {
    const created = await keys.createKey({ name: "shop", scopes: ["webhook:write"] }, T);
    expect((await keys.authenticate(created.key, T)).ok).toBe(true);
    await keys.revoke(created.id, T + 10);
    expect((await keys.authenticate(created.key, T + 10)).ok).toBe(false);
    expect((await keys.find(created.id))?.revokedAt).toBe(T + 10);
    expect(await keys.revoke(created.id, T + 99)).toBe(true);
    expect((await keys.find(created.id))?.revokedAt).toBe(T + 10);
    expect(await keys.revoke("nosuchkey0", T)).toBe(false);
  });

  test("last_used_at is written at most once per second, in the background", async () => {
    const created = await keys.createKey({ name: "shop", scopes: ["webhook:write"] }, T);
    expect((await keys.find(created.id))?.lastUsedAt).toBeNull();
    await keys.authenticate(created.key, T + 100);
    await keys.authenticate(created.key, T + 900);
    await until(async () => (await keys.find(created.id))?.lastUsedAt === T + 100);
    await keys.authenticate(created.key, T + 1100);
    await until(async () => (await keys.find(created.id))?.lastUsedAt === T + 1100);
  });

  test("scopes outside the allowed set are refused at creation", async () => {
    await expect(keys.createKey({ name: "x", scopes: ["webhook:read"] }, T)).rejects.toThrow(/unknown scope "webhook:read"/);
    await expect(keys.createKey({ name: "x", scopes: [] }, T)).rejects.toThrow(/at least one scope/);
    await expect(keys.createKey({ name: " ", scopes: ["admin"] }, T)).rejects.toThrow(/name/);
    await expect(keys.createKey({ name: "x", scopes: ["admin"], rateLimitPerMinute: 0 }, T)).rejects.toThrow(/rateLimitPerMinute/);
    expect(await keys.list()).toEqual([]);
  });
});

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(5);
  }
}
