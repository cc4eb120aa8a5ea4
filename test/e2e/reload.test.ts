import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { postJson, startRelayProcess } from "../support/process.ts";
import { tempDir } from "../support/tmp.ts";

let tmp: ReturnType<typeof tempDir>;
let first: Receiver;
let second: Receiver;
beforeAll(() => {
  tmp = tempDir("relay-reload-");
  first = startReceiver();
  second = startReceiver();
});
afterAll(() => {
  first.stop();
  second.stop();
  tmp.cleanup();
});

const yaml = (url: string, extra = "") => `
storage:
  path: ./data/relay.db
sources:
  shop:
    id: reload-shop
destinations:
  crm:
    url: ${url}/crm
routes:
  - from: shop
    to: crm
${extra}`;

async function until(check: () => boolean, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("the running process applies a valid edit, keeps its config on a broken one, and reloads on SIGHUP", async () => {
  const file = join(tmp.dir, "relay.yaml");
  writeFileSync(file, yaml(first.url));
  const relay = await startRelayProcess(file);
  const ingest = `${relay.url}/api/webhook/reload-shop`;
  try {
    expect((await postJson(ingest, { type: "a" })).status).toBe(202);
    await first.waitFor(1);

    // A valid edit: the destination moves to the second receiver, without a restart.
    writeFileSync(file, yaml(second.url));
    await until(() => relay.lines.some((l) => l.includes('"config reloaded"')), "the reload");
    expect((await postJson(ingest, { type: "b" })).status).toBe(202);
    await second.waitFor(1);
    expect(first.received).toHaveLength(1);

    // A broken edit: logged with its line and key, the running config stays.
    writeFileSync(file, yaml(first.url, "  - from: shop\n    to: nowhere\n"));
    await until(() => relay.lines.some((l) => l.includes("config change rejected")), "the rejection");
    const rejection = relay.lines.find((l) => l.includes("config change rejected"))!;
    expect(rejection).toContain('relay.yaml:14:9: routes[1].to: unknown destination \\"nowhere\\"');
    expect((await postJson(ingest, { type: "c" })).status).toBe(202);
    await second.waitFor(2);
    expect(first.received).toHaveLength(1);

    // SIGHUP reloads on demand: count the reload lines before and after.
    writeFileSync(file, yaml(second.url, "  - name: copy\n    from: shop\n    to: crm\n"));
    await until(() => relay.lines.filter((l) => l.includes('"config reloaded"')).length >= 2, "the second reload");
    const reloads = relay.lines.filter((l) => l.includes('"config reloaded"')).length;
    relay.proc.kill("SIGHUP");
    await until(() => relay.lines.filter((l) => l.includes('"config reloaded"')).length > reloads, "the SIGHUP reload");
    expect((await postJson(ingest, { type: "d" })).status).toBe(202);
    // Two routes to crm now: two deliveries of the one event.
    await second.waitFor(4);
    expect(second.received.slice(2).map((r) => JSON.parse(r.body).event)).toEqual(["d", "d"]);
  } finally {
    await relay.kill("SIGTERM");
  }
});
