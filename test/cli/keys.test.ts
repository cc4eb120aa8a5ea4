import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createApiKeys } from "../../src/auth/keys.ts";
import { openStore } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";
import { TEST_YAML } from "../support/harness.ts";

const ROOT = join(import.meta.dir, "..", "..");
let tmp: ReturnType<typeof tempDir>;
let configPath: string;

beforeAll(async () => {
  tmp = tempDir("relay-cli-");
  configPath = join(tmp.dir, "relay.yaml");
  writeFileSync(configPath, TEST_YAML);
});
afterAll(() => tmp.cleanup());

async function relay(...args: string[]) {
  const proc = Bun.spawn([process.execPath, "src/main.ts", "keys", ...args, "--config", configPath], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, RELAY_ADMIN_TOKEN: "cli-test-admin-token" },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Checks a key against the same database file the CLI wrote. */
async function authenticate(key: string) {
  const store = openStore(join(tmp.dir, "data", "relay.db"));
  try {
    return await createApiKeys(store).authenticate(key, Date.now());
  } finally {
    await store.close();
  }
}

test("create prints the key once; list shows it without the secret; revoke ends it", async () => {
  const created = await relay("create", "--name", "Shop backend", "--scopes", "webhook:write,admin", "--rate-limit", "120", "--source", "shop");
  expect(created.stderr).toContain("shown only this once");
  expect(created.code).toBe(0);
  const key = created.stdout.trim();
  expect(key).toMatch(/^rly_live_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$/);
  const id = key.slice("rly_live_".length, "rly_live_".length + 10);
  expect(await authenticate(key)).toMatchObject({ ok: true, key: { id, name: "Shop backend", scopes: ["webhook:write", "admin"], source: "shop", rateLimitPerMinute: 120 } });

  const listed = await relay("list");
  expect(listed.code).toBe(0);
  const row = listed.stdout.split("\n").find((line) => line.startsWith(id));
  expect(row?.split("\t").slice(0, 5)).toEqual([id, "Shop backend", "webhook:write,admin", "shop", "120"]);
  expect(row).toContain("active");
  expect(listed.stdout).not.toContain(key.slice(20));

  const revoked = await relay("revoke", id);
  expect(revoked.code).toBe(0);
  expect(revoked.stdout.trim()).toBe(`revoked ${id}`);
  expect(await authenticate(key)).toEqual({ ok: false, reason: "invalid" });
  expect((await relay("list")).stdout.split("\n").find((line) => line.startsWith(id))).toContain("revoked");
}, 30_000); // four runs of the CLI

test("bad input is refused without creating anything", async () => {
  const before = (await relay("list")).stdout;
  const unknownScope = await relay("create", "--name", "x", "--scopes", "webhook:read");
  expect(unknownScope.code).toBe(1);
  expect(unknownScope.stderr).toContain('unknown scope "webhook:read"');
  const unknownSource = await relay("create", "--name", "x", "--source", "warehouse");
  expect(unknownSource.code).toBe(1);
  expect(unknownSource.stderr).toContain('unknown source "warehouse"');
  expect((await relay("create")).code).toBe(2);
  expect((await relay("create", "--name", "x", "--rate-limit", "lots")).code).toBe(2);
  const unknownId = await relay("revoke", "nosuchkey0");
  expect(unknownId.code).toBe(1);
  expect(unknownId.stderr).toContain('unknown API key "nosuchkey0"');
  expect((await relay("list")).stdout).toBe(before);
}, 30_000); // seven runs of the CLI

test("create without --source binds the key to the only typed source, as the admin API does", async () => {
  const created = await relay("create", "--name", "Shop webhook", "--rate-limit", "120");
  expect(created.code).toBe(0);
  expect(created.stderr).toContain("source shop");
  expect(await authenticate(created.stdout.trim())).toMatchObject({ ok: true, key: { source: "shop", scopes: ["webhook:write"] } });
});
