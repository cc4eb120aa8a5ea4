import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createApp } from "../../src/app.ts";
import { ManualClock } from "../../src/clock.ts";
import type { Config } from "../../src/config/types.ts";
import { digestPlugin, type AuthorizeAdmin } from "../../src/digest/plugin.ts";
import { createDigestScheduler, type DigestScheduler } from "../../src/digest/scheduler.ts";
import { Unauthorized } from "../../src/errors.ts";
import { silentLogger } from "../support/log.ts";
import { openStore, type SqliteStore as Store } from "../../src/store/store.ts";
import { configWith, destination } from "../support/destination.ts";
import { tempDir } from "../support/tmp.ts";
import { deliveryRow, digestDestination, hold, rowsWhere } from "./helpers.ts";

const T = Date.UTC(2026, 10, 23, 9, 0, 0);
const URL = "http://127.0.0.1:9/unused";

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let clock: ManualClock;
let config: Config;
let scheduler: DigestScheduler;
let woken: number;

beforeEach(async () => {
  tmp = tempDir();
  const path = join(tmp.dir, "relay.db");
  store = openStore(path);
  clock = new ManualClock(T);
  config = configWith(path, [digestDestination("crm", URL, { maxItems: 2 }), destination("plain", URL)]);
  woken = 0;
  scheduler = createDigestScheduler({ store, config: () => config, clock, log: silentLogger, onClosed: () => woken++ });
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

function appWith(authorize: AuthorizeAdmin) {
  return createApp({
    log: silentLogger,
    ingest: { config: () => config, sourceUrls: () => new Map(), receive: async () => Promise.reject(new Error("not used")) },
    health: { pingDatabase: () => store.ping(), startedAt: T, version: "test" },
    plugins: [digestPlugin(scheduler, authorize)],
  });
}

const flush = (app: ReturnType<typeof appWith>, name: string, headers: Record<string, string> = {}) =>
  app.handle(new Request(`http://relay.test/api/digests/${name}/flush`, { method: "POST", headers }));

describe("POST /api/digests/:destination/flush", () => {
  test("sends every held item now, split into parts, and reports the digests", async () => {
    for (let n = 1; n <= 3; n++) await hold(store, "crm", T - 60_000 + n, `{"n":${n}}`);
    const res = await flush(appWith(() => {}), "crm");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { digests: Array<Record<string, unknown> & { id: string }>; items: number };
    expect(body).toEqual({
      digests: [
        { id: expect.stringMatching(/^dig_/), items: 2, part: 1, parts: 2 },
        { id: expect.stringMatching(/^dig_/), items: 1, part: 2, parts: 2 },
      ],
      items: 3,
    });
    expect(Object.keys(body.digests[0]).sort()).toEqual(["id", "items", "part", "parts"]);
    const sent = rowsWhere(store, "route = 'digest'");
    expect(sent.map((r) => [r.status, r.digest_id, r.body])).toEqual([
      ["pending", body.digests[0].id, '[{"n":1},{"n":2}]'],
      ["pending", body.digests[1].id, '[{"n":3}]'],
    ]);
    expect(woken).toBe(1);

    const again = await flush(appWith(() => {}), "crm");
    expect(await again.json()).toEqual({ digests: [], items: 0 });
  });

  test("an unknown destination or one without a digest is 404 with an error", async () => {
    const app = appWith(() => {});
    const unknown = await flush(app, "nowhere");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'unknown destination "nowhere"', code: "not_found" });
    const plain = await flush(app, "plain");
    expect(plain.status).toBe(404);
    expect(await plain.json()).toEqual({ error: 'destination "plain" has no digest', code: "not_found" });
  });

  test("the admin check runs first: a refused caller flushes nothing", async () => {
    const id = await hold(store, "crm", T - 1, '{"n":1}');
    const seen: string[] = [];
    const app = appWith((request) => {
      seen.push(request.headers.get("authorization") ?? "");
      if (request.headers.get("authorization") !== "Bearer admin") throw new Unauthorized("admin token required");
    });
    const refused = await flush(app, "crm", { authorization: "Bearer nope" });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "admin token required", code: "unauthorized" });
    expect(deliveryRow(store, id).status).toBe("held_for_digest");
    // Unknown destinations are not revealed to a refused caller either.
    expect((await flush(app, "nowhere")).status).toBe(401);

    const ok = await flush(app, "crm", { authorization: "Bearer admin" });
    expect(ok.status).toBe(200);
    expect(deliveryRow(store, id).status).toBe("digested");
    expect(seen).toEqual(["Bearer nope", "", "Bearer admin"]);
  });

  test("is documented under the admin tag", async () => {
    const res = await appWith(() => {}).handle(new Request("http://relay.test/api/openapi/json"));
    const doc = (await res.json()) as { paths: Record<string, { post: { tags: string[]; responses: object } }> };
    const op = doc.paths["/api/digests/{destination}/flush"].post;
    expect(op.tags).toEqual(["admin"]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "404"]));
  });
});
