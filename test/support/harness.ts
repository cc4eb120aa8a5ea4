import { join } from "node:path";
import { ManualClock } from "../../src/clock.ts";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/log.ts";
import { startRelay, type Relay } from "../../src/server.ts";
import { tempDir } from "./tmp.ts";

export const ADMIN_TOKEN = "adm-token-7c1f0e9b4d2a8e6f5a3b";
export const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);

/** Sources: shop (typed), crm (open) and chat (needs an API key), all with fixed URL ids. */
export const TEST_YAML = `
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
storage:
  path: ./data/relay.db
sources:
  shop:
    id: shop-url-id
    kind: typed
  crm:
    id: crm-url-id
    event_type: body.type
  chat:
    id: chat-url-id
    event_type: body.type
    require_api_key: true
destinations:
  sink:
    url: http://127.0.0.1:9/unused
routes:
  - from: crm
    to: sink
`;

export interface Harness {
  relay: Relay;
  clock: ManualClock;
  /** Every log line written so far. */
  lines: string[];
  dir: string;
  dbPath: string;
  /** app.handle on a path, JSON in and out. */
  call(method: string, path: string, opts?: { headers?: Record<string, string>; body?: unknown }): Promise<Reply>;
  stop(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** The real Relay (store file, app, guard) on a ManualClock, without the delivery worker. */
export async function startHarness(yaml: string = TEST_YAML, env: Record<string, string> = {}): Promise<Harness> {
  const tmp = tempDir("relay-test-");
  const config = parseConfig(yaml, join(tmp.dir, "relay.yaml"), { RELAY_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
  const dbPath = config.storage.path;
  const clock = new ManualClock(T0);
  const lines: string[] = [];
  const relay = await startRelay(config, {
    clock,
    log: createLogger((line) => lines.push(line), "debug"),
    port: 0,
    hostname: "127.0.0.1",
    deliver: false,
  });
  return {
    relay,
    clock,
    lines,
    dir: tmp.dir,
    dbPath,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers["content-type"] ??= "application/json";
        body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      }
      const res = await relay.app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
      const text = await res.text();
      let json: any = null;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: res.status, headers: res.headers, text, json };
    },
    async stop() {
      await relay.stop(100);
      tmp.cleanup();
    },
  };
}

export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Creates a key through the admin API and returns the created body (with `key`). */
export async function createKeyViaApi(h: Harness, body: Record<string, unknown>) {
  const res = await h.call("POST", "/api/api-keys", { headers: admin, body });
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${res.text}`);
  return res.json as { id: string; key: string; name: string; scopes: string[]; rateLimitPerMinute: number; source: string | null; createdAt: string };
}
