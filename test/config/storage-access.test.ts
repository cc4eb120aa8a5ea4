import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { isConfigFolder, storageProblem, storageWarnings } from "../../src/config/storage-access.ts";
import { tempDir } from "../support/tmp.ts";

// Where the database would land, checked before SQLite says only "unable to open database file".

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir("relay-storage-");
});
afterAll(() => tmp.cleanup());

const configAt = (file: string, path: string) => parseConfig(`storage: { path: "${path}" }\nsources: { shop: {} }\n`, file, {});

describe("storageProblem", () => {
  test("a writable folder, existing or to be made, is fine", () => {
    expect(storageProblem(join(tmp.dir, "relay.db"))).toBeUndefined();
    expect(storageProblem(join(tmp.dir, "a", "b", "relay.db"))).toBeUndefined();
    expect(storageProblem(":memory:")).toBeUndefined();
  });

  test("a file where a folder should be is named", () => {
    writeFileSync(join(tmp.dir, "plain"), "");
    expect(storageProblem(join(tmp.dir, "plain", "relay.db"))).toBe(`${join(tmp.dir, "plain")} is not a folder`);
  });
});

describe("relay check warnings", () => {
  test("a relative path in a folder made for configuration is warned about", () => {
    for (const folder of ["config", "relay-config", "conf.d"]) {
      const file = join(tmp.dir, folder, "relay.yaml");
      const warnings = storageWarnings(configAt(file, "./data/relay.db"));
      expect(warnings).toEqual([
        `storage.path ${join(tmp.dir, folder, "data", "relay.db")} is in the config's folder ${join(tmp.dir, folder)} (a relative path is read from there), ` +
          "which a container mounts read-only: use an absolute path such as /data/relay.db, or set $RELAY_STORAGE_PATH",
      ]);
    }
  });

  test("a config beside the project, or a database outside the config's folder, is not", () => {
    expect(storageWarnings(configAt(join(tmp.dir, "relay.yaml"), "./data/relay.db"))).toEqual([]);
    expect(storageWarnings(configAt(join(tmp.dir, "config", "relay.yaml"), join(tmp.dir, "state", "relay.db")))).toEqual([]);
    expect(isConfigFolder("/config")).toBe(true);
    expect(isConfigFolder("/etc/relay")).toBe(true);
    expect(isConfigFolder("/srv/relay")).toBe(false);
  });
});

/**
 * Runs the CLI unable to write `folder`: as root, as uid 65532 (the image's user) on a root-owned folder, as the
 * container does; otherwise as this user on a folder without write permission.
 */
function relayWithoutWriteAccess(folder: string, ...args: string[]) {
  const root = process.getuid?.() === 0;
  mkdirSync(folder, { recursive: true });
  if (root) chownSync(folder, 0, 0);
  chmodSync(folder, 0o555);
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, RELAY_STORAGE_PATH: "" },
    ...(root ? { uid: 65532, gid: 65532 } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, uid: root ? 65532 : process.getuid!() };
}

describe("a database folder this process cannot write", () => {
  test("relay check warns, naming the folder and the uid, and still exits 0", () => {
    const data = join(tmp.dir, "ro-check");
    const file = join(tmp.dir, "check.yaml");
    writeFileSync(file, `storage: { path: ${join(data, "relay.db")} }\nsources: { shop: {} }\n`);
    chmodSync(tmp.dir, 0o755);
    const r = relayWithoutWriteAccess(data, "check", "--config", file);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`warning: storage.path ${join(data, "relay.db")}: the folder ${data} is not writable for uid ${r.uid}`);
  });

  test("relay serve stops with an error naming the path and the uid, not SQLite's 'unable to open database file'", () => {
    const data = join(tmp.dir, "ro-serve");
    const file = join(tmp.dir, "serve.yaml");
    writeFileSync(file, `storage: { path: ${join(data, "relay.db")} }\nsources: { shop: {} }\n`);
    chmodSync(tmp.dir, 0o755);
    const r = relayWithoutWriteAccess(data, "serve", "--config", file, "--port", "0");
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `cannot open the database ${join(data, "relay.db")}: the folder ${data} is not writable for uid ${r.uid} (owner uid ${process.getuid?.() === 0 ? 0 : r.uid}, mode 555)`,
    );
  });

  test("with storage.postgres the file is never opened: check does not warn, serve goes on to the database", () => {
    const data = join(tmp.dir, "ro-postgres");
    const file = join(tmp.dir, "postgres.yaml");
    // Nothing listens on port 1: serve gets as far as PostgreSQL and says so.
    writeFileSync(file, `storage:\n  path: ${join(data, "relay.db")}\n  postgres: { url: "postgres://relay@127.0.0.1:1/relay" }\nsources: { shop: {} }\n`);
    chmodSync(tmp.dir, 0o755);
    const checked = relayWithoutWriteAccess(data, "check", "--config", file);
    expect(checked.code).toBe(0);
    expect(checked.stderr).not.toContain("warning");
    const served = relayWithoutWriteAccess(data, "serve", "--config", file, "--port", "0");
    expect(served.code).toBe(1);
    expect(served.stderr).toContain("cannot open PostgreSQL at postgres://relay@127.0.0.1:1/relay");
    expect(served.stderr).not.toContain("cannot open the database");
  });
});
