import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { postJson, startRelayProcess, type RelayProcess } from "../support/process.ts";
import { tempDir } from "../support/tmp.ts";

// A real full filesystem: a 6 MB tmpfs holds the database; a filler file takes the rest of the space.
let tmp: ReturnType<typeof tempDir>;
let disk: string;
let mounted = false;
let relay: RelayProcess | undefined;

beforeAll(() => {
  tmp = tempDir("relay-disk-full-");
  disk = join(tmp.dir, "disk");
  mkdirSync(disk);
  mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", disk]).status === 0;
});
afterAll(async () => {
  await relay?.kill();
  if (mounted) spawnSync("umount", ["-l", disk]);
  tmp.cleanup();
});

/** Writes until the filesystem refuses: what is left is less than one more chunk. */
function fill(path: string): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full.
  } finally {
    closeSync(fd);
  }
}

// Mounting needs root (or CAP_SYS_ADMIN); without it there is no real full disk to test against.
const root = process.getuid?.() === 0;
if (!root) console.log("full-disk test skipped: mounting its 6 MB tmpfs needs root (CI runs as root)");
test.skipIf(!root)("a full disk: 503 with Retry-After, health says so, the worker backs off, recovery without restart", async () => {
  expect(mounted).toBe(true);
  const file = join(tmp.dir, "relay.yaml");
  writeFileSync(
    file,
    `
storage:
  path: ${join(disk, "relay.db")}
  min_free: 0
sources:
  shop: { id: full-shop, max_body: 1mb }
destinations:
  down: { url: "http://127.0.0.1:9/down", retry: [1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s] }
routes:
  - { from: shop, to: down }
`,
  );
  relay = await startRelayProcess(file);
  const url = `${relay.url}/api/webhook/full-shop`;
  // Pending deliveries the worker will try to claim while the disk is full.
  for (let i = 0; i < 100; i++) expect((await postJson(url, { type: "t", i })).status).toBe(202);

  fill(join(disk, "filler"));
  const body = JSON.stringify({ type: "t", pad: "x".repeat(200 * 1024) });
  let refused: Awaited<ReturnType<typeof postJson>> | undefined;
  for (let i = 0; i < 40 && !refused; i++) {
    const res = await postJson(url, body);
    if (res.status !== 202) refused = res;
  }
  expect(refused?.status).toBe(503);
  expect(refused?.json).toEqual({ error: "events cannot be stored right now; retry later", code: "storage_failing" });
  expect(refused?.headers.get("retry-after")).toBe("30"); // as the README's Failure behaviour table says

  const health = await fetch(`${relay.url}/api/health`);
  expect(health.status).toBe(503);
  expect(((await health.json()) as any).checks.storage.error).toMatch(/writes failing since .*full/);

  // Meanwhile the worker's claims fail: backed off and counted, not thousands of lines a second.
  const before = relay.lines.length;
  await Bun.sleep(2000);
  const errorLines = relay.lines.slice(before).filter((l) => l.includes('"level":"error"'));
  if (process.env.SHOW_LINES) console.log(relay.lines.slice(before).join("\n"));
  expect(errorLines.length).toBeLessThan(20);
  const failedWrites = errorLines.map((l) => JSON.parse(l)).reduce((n, l) => n + 1 + (l.repeated ?? 0), 0);
  expect(failedWrites).toBeLessThan(100);

  rmSync(join(disk, "filler"));
  let accepted = 0;
  for (let i = 0; i < 20 && accepted === 0; i++) {
    if ((await postJson(url, body)).status === 202) accepted++;
    else await Bun.sleep(100);
  }
  expect(accepted).toBe(1);
  const recovered = await fetch(`${relay.url}/api/health`);
  expect(recovered.status).toBe(200);
}, 60_000);
