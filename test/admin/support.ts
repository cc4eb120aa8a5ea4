import { expect } from "bun:test";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { ADMIN_TOKEN, admin, startHarness, type Harness } from "../support/harness.ts";
import { startReceiver, type Receiver, type Responder } from "../support/receiver.ts";

export { admin, ADMIN_TOKEN };

/**
 * Sources shop and crm (type from body.type). Every event goes to flaky and steady (envelope);
 * shop events of type "broken" also take a route whose JSONata throws, so their delivery is dead at ingest.
 * crm has an acknowledgment contract and a signature; daily holds events for a digest; unrouted gets nothing.
 */
export const ADMIN_YAML = `
server:
  admin_token: \${RELAY_ADMIN_TOKEN}
storage:
  path: ./data/relay.db
sources:
  shop:
    id: shop-url-id
    event_type: body.type
  crm:
    id: crm-url-id
    event_type: body.type
destinations:
  flaky:
    url: \${FLAKY_URL}
    retry: [1s]
  steady:
    url: \${STEADY_URL}
    retry: [1s]
  crm:
    url: \${CRM_URL}
    retry: [1s]
    ack:
      status: 2xx
      body: '{"status":"success"}'
    sign:
      preset: sha256
      header: X-Aficial-Signature
      secret: crm-signing-secret-1
  daily:
    url: \${CRM_URL}
    digest:
      cron: "0 6 * * *"
  unrouted:
    url: \${CRM_URL}
routes:
  - name: everything
    from: [shop, crm]
    to: [flaky, steady]
  - name: broken
    from: shop
    when:
      type: broken
    to: steady
    transform:
      jsonata: '$error("boom")'
  - name: digest
    from: crm
    when:
      type: digest.me
    to: daily
`;

export interface AdminRig {
  h: Harness;
  flaky: Receiver;
  steady: Receiver;
  crm: Receiver;
  env: Record<string, string>;
  /** The YAML above with edits, parsed as a reload would. */
  configFrom(yaml: string): ReturnType<typeof parseConfig>;
  stop(): Promise<void>;
}

export async function startRig(
  responders: { flaky?: Responder; steady?: Responder; crm?: Responder } = {},
  urls: { steady?: (base: string) => string } = {},
): Promise<AdminRig> {
  const flaky = startReceiver(responders.flaky);
  const steady = startReceiver(responders.steady);
  const crm = startReceiver(responders.crm);
  const env = {
    FLAKY_URL: `${flaky.url}/hook`,
    STEADY_URL: urls.steady ? urls.steady(steady.url) : `${steady.url}/hook`,
    CRM_URL: `${crm.url}/leads`,
  };
  const h = await startHarness(ADMIN_YAML, env);
  return {
    h,
    flaky,
    steady,
    crm,
    env,
    configFrom: (yaml) => parseConfig(yaml, join(h.dir, "relay.yaml"), { RELAY_ADMIN_TOKEN: ADMIN_TOKEN, ...env }),
    async stop() {
      await h.stop();
      flaky.stop();
      steady.stop();
      crm.stop();
    },
  };
}

/** Posts one webhook to a source URL id and returns the event id. */
export async function ingest(h: Harness, sourceId: string, body: unknown, headers: Record<string, string> = {}): Promise<string> {
  const res = await h.call("POST", `/api/webhook/${sourceId}`, { body, headers });
  expect(res.status).toBe(202);
  return res.json.id as string;
}

export async function get(h: Harness, path: string) {
  const res = await h.call("GET", path, { headers: admin });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
  return res.json;
}
