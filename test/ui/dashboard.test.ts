import { afterEach, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, T0, admin, createKeyViaApi } from "../support/harness.ts";
import { get, ingest, startRig, type AdminRig } from "../admin/support.ts";
import { configHash, routingTable } from "../../src/config/describe.ts";
import { describeReloadError } from "../../src/config/watch.ts";
import { escapeHtml } from "../../src/ui/html.ts";
import { redactHeaders } from "../../src/ui/pages/event.ts";
import { ADMIN_YAML } from "../admin/support.ts";
import { uiClient } from "./support.ts";
import { newId } from "../../src/ids.ts";
import { SEARCH_WINDOW } from "../../src/store/admin-queries.ts";

let rig: AdminRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

describe("sign-in and sessions", () => {
  test("pages need a session; the admin token buys one in an HttpOnly, SameSite=Strict, expiring cookie", async () => {
    rig = await startRig();
    const ui = uiClient(rig.h);
    const anonymous = await ui.get("/ui");
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("location")).toBe("/ui/sign-in");

    const wrong = await ui.signIn("not-the-token");
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain("Wrong token or key.");
    expect(ui.cookie).toBe("");

    const ok = await ui.signIn(ADMIN_TOKEN);
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^relay_session=[A-Za-z0-9_-]{43}; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    expect(cookie).not.toContain(ADMIN_TOKEN);
    expect((await ui.get("/ui")).status).toBe(200);

    rig.h.clock.advance(8 * 60 * 60 * 1000);
    expect((await ui.get("/ui")).status).toBe(303);
  });

  test("behind https the cookie is Secure", async () => {
    rig = await startRig();
    const res = await rig.h.relay.app.handle(
      new Request("http://localhost/ui/sign-in", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-proto": "https" },
        body: `token=${ADMIN_TOKEN}`,
      }),
    );
    expect(res.headers.get("set-cookie")).toEndWith("; Secure");
  });

  test("an API key with scope admin signs in; a webhook key does not; revoking the key ends its session", async () => {
    rig = await startRig();
    const adminKey = await createKeyViaApi(rig.h, { name: "ops", scopes: ["admin"] });
    const hookKey = await createKeyViaApi(rig.h, { name: "shop", source: "shop" });
    const ui = uiClient(rig.h);
    expect((await ui.signIn(hookKey.key)).status).toBe(403);
    expect((await ui.signIn(adminKey.key)).status).toBe(303);
    expect((await ui.get("/ui/keys")).status).toBe(200);
    await rig.h.call("DELETE", `/api/api-keys/${adminKey.id}`, { headers: admin });
    expect((await ui.get("/ui/keys")).status).toBe(303);
  });

  test("sign-out ends the session and clears the cookie", async () => {
    rig = await startRig();
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const before = ui.cookie;
    const out = await ui.post("/ui/sign-out", { _csrf: await ui.csrf() });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    ui.cookie = before;
    expect((await ui.get("/ui")).status).toBe(303);
  });

  test("server.ui: false answers /ui like any unknown path", async () => {
    rig = await startRig();
    rig.h.relay.reload(rig.configFrom(`${ADMIN_YAML_UI_OFF}`));
    const res = await rig.h.call("GET", "/ui/sign-in");
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: "no route for GET /ui/sign-in", code: "not_found" });
    expect((await rig.h.call("GET", "/ui/assets/htmx.min.js")).status).toBe(404);
  });
});

describe("CSRF", () => {
  test("a POST without the session's token, with a wrong one or from another origin is refused and changes nothing", async () => {
    rig = await startRig();
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const csrf = await ui.csrf();
    for (const [form, headers] of [
      [{}, {}],
      [{ _csrf: "forged" }, {}],
      [{ _csrf: csrf }, { origin: "http://evil.example" }],
    ] as const) {
      const res = await ui.post("/ui/destinations/flaky/pause", { ...form }, { ...headers });
      expect(res.status).toBe(403);
      expect(res.text).toContain("Refused");
    }
    expect(rig.h.relay.worker.destinationState("flaky")).toBe("closed");
    const ok = await ui.post("/ui/destinations/flaky/pause", { _csrf: csrf });
    expect(ok.status).toBe(303);
    expect(rig.h.relay.worker.destinationState("flaky")).toBe("paused");
  });
});

describe("pages", () => {
  test("every page answers with a CSP that forbids inline scripts and other origins, and loads only Relay's own assets", async () => {
    rig = await startRig();
    const id = await ingest(rig.h, "crm-url-id", { type: "lead" });
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    for (const path of ["/ui", "/ui/find", `/ui/events/${id}`, "/ui/dead", "/ui/digests", "/ui/keys", "/ui/config"]) {
      const res = await ui.get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-security-policy")).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(res.text).not.toMatch(/<script(?![^>]*\ssrc="\/ui\/assets\/)/);
      expect(res.text).not.toMatch(/\sstyle=|\son[a-z]+=/);
      for (const [, url] of res.text.matchAll(/(?:src|href)="([^"]+)"/g)) expect(url).toMatch(/^(\/ui|#main)/);
    }
    let js = 0;
    for (const name of ["htmx.min.js", "relay.css", "icon.svg"]) {
      const asset = await ui.get(`/ui/assets/${name}`);
      expect(asset.status).toBe(200);
      if (name.endsWith(".js")) js += asset.text.length;
    }
    expect(js).toBeLessThan(100 * 1024);
  });

  test("event data is escaped: script tags and attribute breakouts show as text", async () => {
    rig = await startRig();
    const payload = { type: "lead", note: '<script>alert(1)</script>', name: '"><img src=x onerror=alert(2)>' };
    const id = await ingest(rig.h, "crm-url-id", payload, { "x-note": "<b>bold</b>" });
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const page = await ui.get(`/ui/events/${id}`);
    expect(page.text).not.toContain("<script>alert(1)</script>");
    expect(page.text).not.toContain("<img src=x");
    expect(page.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page.text).toContain("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;");
    const found = await ui.get(`/ui/find?q=${encodeURIComponent("<script>")}`);
    expect(found.text).toContain(`value="&lt;script&gt;"`);
    expect(found.text).toContain(id);
  });

  test("Find over more events than one search window: says how far it read and searches older ones on request", async () => {
    rig = await startRig();
    const store = rig.h.relay.store;
    // The oldest event holds the text; SEARCH_WINDOW newer ones do not.
    const old = newId("evt", T0);
    await store.record({ id: old, source: "shop", type: "order.created", receivedAt: T0, headers: {}, body: '{"order":4521}' }, []);
    for (let i = 0; i < SEARCH_WINDOW; i += 1000) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, j) => {
          const at = T0 + 1000 + i + j;
          return store.record({ id: newId("evt", at), source: "shop", type: "order.created", receivedAt: at, headers: {}, body: '{"order":17}' }, []);
        }),
      );
    }
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const first = await ui.get("/ui/find?q=4521");
    expect(first.text).toContain(`Searched events received since <time datetime="${new Date(T0 + 1000).toISOString()}">`);
    expect(first.text).toContain("and none matches");
    expect(first.text).not.toContain(old);
    const older = first.text.match(/<a href="(\/ui\/find\?[^"]*cursor=[^"]*)">Search older<\/a>/);
    expect(older).not.toBeNull();
    const second = await ui.get(older![1]!.replaceAll("&amp;", "&"));
    expect(second.text).toContain(old);
    expect(second.text).not.toContain("Search older");
  }, 30_000);

  test("Find opens an event by its id, a delivery id or its idempotency key, and searches bodies with filters", async () => {
    rig = await startRig();
    const id = await ingest(rig.h, "crm-url-id", { type: "order.created", order: 4521 }, { "idempotency-key": "ord-4521" });
    await ingest(rig.h, "shop-url-id", { type: "order.created", order: 17 });
    const [delivery] = (await get(rig.h, `/api/events/${id}`)).deliveries;
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    for (const q of [id, delivery.id, "ord-4521"]) {
      const res = await ui.get(`/ui/find?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`/ui/events/${id}`);
    }
    const text = await ui.get("/ui/find?q=4521&source=crm&status=pending");
    expect(text.status).toBe(200);
    expect(text.text).toContain(id);
    expect((await ui.get("/ui/find?q=4521&source=shop")).text).toContain("No event matches.");
    const bad = await ui.get("/ui/find?since=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("since: expected an ISO-8601 time or epoch milliseconds");
  });

  test("the Now view shows the numbers of GET /api/destinations, totals included", async () => {
    rig = await startRig({ flaky: () => new Response("nope", { status: 503 }) });
    await ingest(rig.h, "crm-url-id", { type: "lead" });
    await rig.h.relay.worker.runOnce();
    const api = Object.fromEntries((await get(rig.h, "/api/destinations")).destinations.map((d: any) => [d.name, d]));
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const table = (await ui.get("/ui/now/table")).text;
    const row = (name: string) => table.match(new RegExp(`<tr data-destination="${name}">([\\s\\S]*?)</tr>`))![1]!;
    const nums = (name: string) => [...row(name).matchAll(/<td class="num[^"]*">([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(api.flaky.pending).toBe(1);
    expect(api.flaky.totals).toMatchObject({ sent: 0, failed: 1 });
    expect(nums("flaky")).toEqual([String(api.flaky.pending), "0 s", String(api.flaky.sent), String(api.flaky.failed), String(api.flaky.totals.sent), String(api.flaky.totals.failed)]);
    expect(row("flaky")).toContain("retrying");
    expect(row("flaky")).toContain(api.flaky.lastError);
    expect(nums("steady")).toEqual(["0", "–", "1", "0", "1", "0"]);
    expect(api.steady.totals).toMatchObject({ sent: 1, failed: 0 });
  });
});

describe("actions", () => {
  test("pause, resume and send a test from Now; replay an event; each reports what it did", async () => {
    rig = await startRig();
    const id = await ingest(rig.h, "crm-url-id", { type: "lead" });
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const csrf = await ui.csrf();
    const notice = async () => (await ui.get("/ui")).text.match(/role="status">([^<]*)</)?.[1];

    expect((await ui.post("/ui/destinations/steady/pause", { _csrf: csrf })).headers.get("location")).toBe("/ui");
    expect(await notice()).toBe("steady: paused (now paused).");
    expect((await ui.get("/ui/now/table")).text).toMatch(/data-destination="steady">[\s\S]*?state-paused[\s\S]*?>Resume</);
    await ui.post("/ui/destinations/steady/resume", { _csrf: csrf });
    expect(rig.h.relay.worker.destinationState("steady")).toBe("closed");

    await ui.post("/ui/destinations/steady/test", { _csrf: csrf });
    expect(await notice()).toMatch(/^Test to steady delivered \(200, \d+ ms\)\.$/);
    expect(rig.steady.received.at(-1)!.body).toContain("webhook.test");

    const before = (await get(rig.h, `/api/events/${id}`)).deliveries.length;
    const replay = await ui.post(`/ui/events/${id}/replay`, { _csrf: csrf });
    expect(replay.headers.get("location")).toBe(`/ui/events/${id}`);
    expect((await ui.get(`/ui/events/${id}`)).text).toContain(`Replayed: ${before} new deliveries.`);
    expect((await get(rig.h, `/api/events/${id}`)).deliveries.length).toBe(2 * before);

    await ui.post("/ui/destinations/nowhere/pause", { _csrf: csrf });
    expect(await notice()).toBe('unknown destination &quot;nowhere&quot;');
  });
});

describe("keys", () => {
  test("a key created on Keys is shown once and ingests; revoked there, it is refused at once", async () => {
    rig = await startRig();
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const created = await ui.post("/ui/keys", { _csrf: await ui.csrf("/ui/keys"), name: "shop-bot", scopes: "webhook:write", source: "shop" });
    expect(created.status).toBe(201);
    const key = created.text.match(/data-new-key>([^<]+)</)![1]!;
    expect((await ui.get("/ui/keys")).text).not.toContain(key);
    const send = () => rig!.h.call("POST", "/api/webhook", { headers: { "x-api-key": key }, body: { type: "lead" } });
    expect((await send()).status).toBe(202);

    const { keys } = await get(rig.h, "/api/api-keys");
    const id = keys.find((k: any) => k.name === "shop-bot").id;
    const revoked = await ui.post(`/ui/keys/${id}/revoke`, { _csrf: await ui.csrf("/ui/keys") });
    expect(revoked.headers.get("location")).toBe("/ui/keys");
    expect((await ui.get("/ui/keys")).text).toMatch(new RegExp(`data-key="${id}"[\\s\\S]*?revoked`));
    expect((await send()).status).toBe(401);
  });
});

describe("discard", () => {
  test("Dead letters discards one delivery, or every matching one after a confirmation stating N, with the CSRF token", async () => {
    rig = await startRig();
    // A "broken" shop event's steady delivery is dead at ingest (its transform throws).
    const h = rig.h;
    for (let i = 0; i < 3; i++) await ingest(h, "shop-url-id", { type: "broken", n: i });
    const dead = async (destination: string) =>
      (await get(h, `/api/deliveries?status=dead&destination=${destination}`)).deliveries.map((d: { id: string }) => d.id) as string[];
    const [one, ...rest] = await dead("steady");
    expect(rest).toHaveLength(2);
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const list = await ui.get("/ui/dead?destination=steady");
    expect(list.text).toContain("Discard all 3 matching…");
    expect(list.text).toContain(`href="/ui/dead/discard?delivery=${one}"`);

    const confirmOne = await ui.get(`/ui/dead/discard?delivery=${one}`);
    expect(confirmOne.text).toContain(`Discard dead delivery <strong class="mono">${one}</strong> to <strong>steady</strong>?`);
    const csrf = await ui.csrf(`/ui/dead/discard?delivery=${one}`);
    expect((await ui.post("/ui/dead/discard", { delivery: one! })).status).toBe(403);
    expect(await dead("steady")).toContain(one!);
    const done = await ui.post("/ui/dead/discard", { _csrf: csrf, delivery: one! });
    expect(done.headers.get("location")).toBe("/ui/dead");
    expect((await ui.get("/ui/dead")).text).toContain(`Delivery ${one} discarded.`);
    expect((await get(rig.h, "/api/deliveries?status=discarded")).deliveries.map((d: { id: string }) => d.id)).toEqual([one]);

    // Not dead any more: refused with the API's reason.
    await ui.post("/ui/dead/discard", { _csrf: csrf, delivery: one! }, { referer: "http://localhost/ui/dead" });
    expect((await ui.get("/ui/dead")).text).toContain("delivery is discarded; only a dead delivery can be discarded");

    const confirmAll = await ui.get("/ui/dead/discard?destination=steady");
    expect(confirmAll.text).toContain("Discard all <strong>2</strong> dead deliveries of <strong>steady</strong>?");
    expect(confirmAll.text).toContain('name="expected" value="2"');
    // A count that changed since the confirmation discards nothing.
    const stale = await ui.post("/ui/dead/discard", { _csrf: csrf, destination: "steady", expected: "3" });
    expect(stale.headers.get("location")).toBe("/ui/dead/discard?destination=steady");
    expect(await dead("steady")).toHaveLength(2);
    const all = await ui.post("/ui/dead/discard", { _csrf: csrf, destination: "steady", expected: "2" });
    expect(all.headers.get("location")).toBe("/ui/dead?destination=steady");
    expect((await ui.get("/ui/dead?destination=steady")).text).toContain("2 dead deliveries discarded.");
    expect(await dead("steady")).toEqual([]);
    const steady = (await get(rig.h, "/api/destinations")).destinations.find((d: { name: string }) => d.name === "steady");
    expect(steady.dead).toBe(0);
    expect(rig.h.lines.filter((l) => l.includes('"dead deliveries discarded"') && l.includes('"by":"ui:admin-token"'))).toHaveLength(1);
  });
});

describe("Find paging, Config and header redaction", () => {
  test("Find pages with the API's cursor", async () => {
    rig = await startRig();
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await ingest(rig.h, "crm-url-id", { type: "lead", n }));
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const first = await ui.get("/ui/find?limit=2");
    expect(first.text).toContain(ids[2]);
    expect(first.text).toContain(ids[1]);
    expect(first.text).not.toContain(ids[0]);
    const next = first.text.match(/href="(\/ui\/find\?[^"]*cursor=[^"]+)">Next page/)![1]!.replaceAll("&amp;", "&");
    const second = await ui.get(next);
    expect(second.text).toContain(ids[0]);
    expect(second.text).not.toContain(ids[1]);
    expect(second.text).not.toContain("Next page");
  });

  test("Config shows the routing table, the hash and a rejected reload with file and line", async () => {
    rig = await startRig();
    let rejected: unknown;
    try {
      rig.configFrom(ADMIN_YAML.replace("retry: [1s]", "retry: [1 sec]"));
    } catch (error) {
      rejected = error;
    }
    rig.h.relay.reloadRejected(describeReloadError(rejected).errors);
    const ui = uiClient(rig.h);
    await ui.signIn(ADMIN_TOKEN);
    const page = (await ui.get("/ui/config")).text;
    expect(page).toContain(escapeHtml(routingTable(rig.h.relay.config)));
    expect(page).toContain(configHash(rig.h.relay.config));
    expect(page).toContain("rejected; the previous config still runs");
    expect(page).toMatch(/relay\.yaml:\d+/);
  });

  test("credential-like header names are redacted; signature headers are named, never their secret", () => {
    expect(redactHeaders({ "x-api-key": "k", authorization: "Bearer t", "x-request-id": "r-1" })).toEqual([
      ["x-api-key", "[redacted]"],
      ["authorization", "[redacted]"],
      ["x-request-id", "r-1"],
    ]);
  });
});

const ADMIN_YAML_UI_OFF = ADMIN_YAML.replace("server:\n", "server:\n  ui: false\n");
