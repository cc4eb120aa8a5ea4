import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { postJson, startRelayProcess } from "../support/process.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";

// Real processes on a shared machine: each test bounds its own waits, so the runner allows more than 5 s.
const SLOW = 30_000;

const ROOT = join(import.meta.dir, "..", "..");
let tmp: ReturnType<typeof tempDir>;
let receiver: Receiver;
let configPath: string;

function relay(...args: string[]) {
  const p = Bun.spawnSync([process.execPath, join(ROOT, "src", "main.ts"), ...args], { cwd: tmp.dir, env: { ...process.env, RELAY_CONFIG: "" } });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

beforeAll(() => {
  tmp = tempDir("relay-digest-cli-");
  receiver = startReceiver(() => new Response('{"status":"success"}'));
  configPath = join(tmp.dir, "relay.yaml");
  writeFileSync(
    configPath,
    `
server: { admin_token: digest-cli-admin-token-1234 }
storage: { path: ./data/relay.db }
sources:
  chatbot: { id: chatbot-in, event_type: body.Type }
destinations:
  crm-daily:
    url: ${receiver.url}/daily
    ack: { body: '{"status":"success"}' }
    digest: { cron: "0 6 * * *", timezone: Europe/Berlin }
routes:
  - { from: chatbot, to: crm-daily, transform: passthrough }
`,
  );
});
afterAll(() => {
  receiver.stop();
  tmp.cleanup();
});

describe("relay <command> --help", () => {
  test.each(["serve", "check", "sources", "try", "keys", "digest", "health", "version", "help"])(
    "%s --help prints its usage and reads no config",
    (command) => {
      // No relay.yaml exists in the working folder: a command that tried to read one would fail.
      const r = relay(command, "--help");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Usage");
      if (command !== "help") expect(r.stdout).toContain(`relay ${command}`);
    },
    SLOW,
  );

  test("keys create --help is help too, not an error", () => {
    const r = relay("keys", "create", "--help");
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain("relay keys create --name NAME");
  }, SLOW);
});

describe("relay digest and relay try on a digest destination", () => {
  test("list shows what is held and when the window closes; try shows the batch; flush sends it through the running relay", async () => {
    const server = await startRelayProcess(configPath);
    try {
      for (const serial of ["L-1", "L-2"]) {
        expect((await postJson(`${server.url}/api/webhook/chatbot-in`, { Type: "Lead", SerialNumber: serial })).status).toBe(202);
      }
      const list = relay("digest", "list", "--config", configPath);
      expect(list.code).toBe(0);
      const [header, row] = list.stdout.trim().split("\n");
      expect(header).toBe("DESTINATION\tSCHEDULE\tHELD\tWINDOW START\tNEXT CLOSE");
      const [name, schedule, held, start, next] = row.split("\t");
      expect([name, schedule, held]).toEqual(["crm-daily", "0 6 * * * Europe/Berlin", "2"]);
      expect(start).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(Date.parse(next)).toBeGreaterThan(Date.now());

      const payload = join(tmp.dir, "lead.json");
      writeFileSync(payload, JSON.stringify({ Type: "Lead", SerialNumber: "L-3" }));
      const tried = relay("try", "--config", configPath, "--source", "chatbot", "--payload", payload, "--json");
      expect(tried.code).toBe(0);
      const d = JSON.parse(tried.stdout).deliveries[0];
      expect(d.batch).toEqual({ items: 3, parts: 1 });
      expect(JSON.parse(d.request.body).map((l: any) => l.SerialNumber)).toEqual(["L-1", "L-2", "L-3"]);
      expect(relay("try", "--config", configPath, "--source", "chatbot", "--payload", payload).stdout).toContain("a flush now sends 3 items");

      const flush = relay("digest", "flush", "crm-daily", "--config", configPath);
      expect(flush.code).toBe(0);
      expect(flush.stdout).toMatch(/^crm-daily: 2 items in dig_\S+ \(2\)\n$/);
      await receiver.waitFor(1);
      expect(JSON.parse(receiver.received[0].body).map((l: any) => l.SerialNumber)).toEqual(["L-1", "L-2"]);
      expect(relay("digest", "flush", "crm-daily", "--config", configPath).stdout).toBe("crm-daily: nothing held, nothing sent\n");
      expect(relay("digest", "list", "--config", configPath).stdout.trim().split("\n")[1].split("\t")[2]).toBe("0");
    } finally {
      await server.kill("SIGTERM");
    }
    // Seven CLI processes and a server.
  }, 2 * SLOW);

  test("flush of an unknown or non-digest destination says so", () => {
    const r = relay("digest", "flush", "nope", "--config", configPath);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown destination "nope"');
    expect(relay("digest", "--config", configPath).code).toBe(2);
  }, SLOW);
});
