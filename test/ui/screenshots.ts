// Regenerates the dashboard screenshots in docs/: `bun test/ui/screenshots.ts`.
// Starts the real `relay serve` with a few real events and receivers on 127.0.0.1, signs in with Chromium, and shoots each view.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { postJson, startRelayProcess } from "../support/process.ts";
import { startReceiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";
import { launchBrowser } from "./browser.ts";

const DOCS = join(import.meta.dir, "..", "..", "docs");
const TOKEN = "screenshot-admin-token";
const tmp = tempDir("relay-shots-");
let crmUp = false;
const crm = startReceiver(() => (crmUp ? new Response('{"status":"success"}') : new Response("CRM down: lead store unavailable", { status: 500 })));
const warehouse = startReceiver(() => new Response("ok"));
const chat = startReceiver(() => new Response("ok"));
const config = join(tmp.dir, "relay.yaml");
writeFileSync(
  config,
  `
server:
  host: 127.0.0.1
  admin_token: \${RELAY_ADMIN_TOKEN}
storage:
  path: ${join(tmp.dir, "relay.db")}
sources:
  shop:
    id: shop-7f3a
destinations:
  crm:
    url: ${crm.url}/leads
    retry: [1s]
    ack: { body: '{"status":"success"}' }
    circuit: { failures: 100 }
    sign: { preset: sha256, header: X-Relay-Signature, secret: docs-signing-secret }
  warehouse:
    url: ${warehouse.url}/orders
  team-chat:
    url: ${chat.url}/hooks/daily
    digest: { cron: "0 9 * * 1-5", timezone: Europe/Berlin }
routes:
  - name: orders-to-crm
    from: shop
    when: { type: "order.*" }
    to: [crm, warehouse]
  - name: daily-summary
    from: shop
    when: { type: "order.created" }
    to: team-chat
`,
);
const relay = await startRelayProcess(config, { RELAY_ADMIN_TOKEN: TOKEN });
const api = async (path: string) => (await fetch(`${relay.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<any>;
const ingest = async (body: unknown, key?: string) =>
  (await postJson(`${relay.url}/api/webhook/shop-7f3a`, body, key ? { "idempotency-key": key } : {})).json.id as string;

const order4521 = await ingest({ type: "order.created", order: { id: 4521, total: 129.9, customer: "Lindqvist AB" } }, "order-4521");
for (const id of [4518, 4519, 4520]) await ingest({ type: "order.paid", order: { id, total: 40 + id / 100 } });
const waitFor = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 200 && !(await check()); i++) await Bun.sleep(100);
};
await waitFor(async () => (await api("/api/destinations")).destinations.find((d: any) => d.name === "crm").dead >= 4);
crmUp = true;
await ingest({ type: "order.created", order: { id: 4522, total: 18.5, customer: "Okafor & Sons" } });
await ingest({ type: "order.refunded", order: { id: 4490, total: -12 } });
await waitFor(async () => (await api("/api/destinations")).destinations.find((d: any) => d.name === "crm").pending === 0);
// One digest window already sent, and an item waiting for the next.
await fetch(`${relay.url}/api/digests/team-chat/flush`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
await chat.waitFor(1);
await ingest({ type: "order.created", order: { id: 4523, total: 64, customer: "Nakamura KK" } });
await Bun.sleep(500);

mkdirSync(DOCS, { recursive: true });
const browser = await launchBrowser({ width: 1680, height: 800 });
const page = browser.context.pages()[0] ?? (await browser.context.newPage());
await page.goto(`${relay.url}/ui/sign-in`);
await page.screenshot({ path: join(DOCS, "dashboard-sign-in.png") });
await page.getByLabel("Admin token or API key with scope admin").fill(TOKEN);
await page.getByRole("button", { name: "Sign in" }).click();
await page.waitForURL(`${relay.url}/ui`);

const shots: Array<[string, string]> = [
  ["now", "/ui"],
  ["find", "/ui/find?q=4521"],
  ["event", `/ui/events/${order4521}`],
  ["dead-letters", "/ui/dead"],
  ["digests", "/ui/digests"],
  ["config", "/ui/config"],
];
for (const [name, path] of shots) {
  await page.goto(`${relay.url}${path}`);
  await page.screenshot({ path: join(DOCS, `dashboard-${name}.png`), fullPage: true });
  console.log(`docs/dashboard-${name}.png`);
}
await page.goto(`${relay.url}/ui/keys`);
await page.getByLabel("Name").fill("billing-service");
await page.getByRole("button", { name: "Create key" }).click();
await page.screenshot({ path: join(DOCS, "dashboard-keys.png"), fullPage: true });
console.log("docs/dashboard-keys.png");
await page.setViewportSize({ width: 390, height: 844 });
await page.goto(`${relay.url}/ui/events/${order4521}`);
await page.screenshot({ path: join(DOCS, "dashboard-phone.png") });
console.log("docs/dashboard-phone.png");

await browser.close();
await relay.kill("SIGTERM");
for (const r of [crm, warehouse, chat]) r.stop();
tmp.cleanup();
process.exit(0);
