// What only PostgreSQL has: several instances on one database, migrations under a lock, wake-ups by NOTIFY,
// and a database that goes away.
import { afterAll, describe, expect, test } from "bun:test";
import { Unavailable } from "../../src/errors.ts";
import { newId } from "../../src/ids.ts";
import { openPostgresStore, type PostgresStore } from "../../src/store/postgres/store.ts";
import { pgMigrations } from "../../src/store/postgres/migrations.ts";
import { hintIsForOthersOf, hintPayload } from "../../src/store/postgres/wake.ts";
import { POSTGRES_URL, postgresEnabled, testSchema } from "../support/postgres.ts";
import { tcpProxy } from "../support/tcp-proxy.ts";
import { attempt, delivery, event, T } from "./contract/backends.ts";

const suite = postgresEnabled() ? describe : describe.skip;

suite("PostgreSQL with several instances", () => {
  const schemas: Array<ReturnType<typeof testSchema>> = [];
  const stores: PostgresStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => {});
    for (const s of schemas) await s.drop();
  });
  /** `n` instances on one fresh schema, opened at the same moment. */
  const instances = async (n: number): Promise<PostgresStore[]> => {
    const schema = testSchema("multi");
    schemas.push(schema);
    const opened = await Promise.all(
      Array.from({ length: n }, (_, i) => openPostgresStore({ url: schema.url, pool: 4, instanceId: `i${i}` })),
    );
    stores.push(...opened);
    return opened;
  };

  test("instances opening a fresh database at once migrate it once", async () => {
    const [a] = await instances(4);
    const rows = await a.sql<{ version: number }[]>`SELECT version FROM relay_schema ORDER BY version`;
    expect(rows.map((r) => r.version)).toEqual(pgMigrations.map((_, i) => i + 1));
  });

  test("a schema newer than this Relay is refused with a clear error", async () => {
    const [a] = await instances(1);
    await a.sql`INSERT INTO relay_schema (version, migrated_at) VALUES (${pgMigrations.length + 1}, 0)`;
    const url = new URL(POSTGRES_URL);
    url.searchParams.set("search_path", a.schema);
    await expect(openPostgresStore({ url: url.toString(), pool: 1 })).rejects.toThrow(
      new RegExp(`schema version ${pgMigrations.length + 1} is newer than this Relay \\(${pgMigrations.length}\\)`),
    );
  });

  test("an unreachable database fails the start with a message naming it, without the password", async () => {
    const start = openPostgresStore({ url: "postgres://relay:secret@127.0.0.1:1/relay", pool: 1 });
    await expect(start).rejects.toThrow(/cannot open PostgreSQL at postgres:\/\/relay:\*\*\*@127\.0\.0\.1:1\/relay: .*ECONNREFUSED/);
  });

  test("concurrent claims never lease a row twice", async () => {
    const [a, b, c] = await instances(3);
    await a.record(event(), Array.from({ length: 40 }, () => delivery("crm")));
    const claims = await Promise.all([a, b, c, a, b, c].map((s) => s.claim("crm", 5, T, 30_000)));
    const ids = claims.flat().map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(30);
    const rest = (await Promise.all([a, b, c].map((s) => s.claim("crm", 20, T, 30_000)))).flat().map((d) => d.id);
    expect(new Set([...ids, ...rest]).size).toBe(40);
  });

  test("shares of a cap never add up to more than the cap, whoever asks at once; a lapsed share is granted again", async () => {
    const [a, b, c] = await instances(3);
    const until = T + 60_000;
    const granted = await Promise.all([a, b, c, a, b, c].map((s) => s.takeSlots!("crm", 5, 8, T, until)));
    // Each instance's share is its latest grant; concurrent asks are answered one after the other.
    const latest = [a, b, c].map((s) => granted.filter((_, i) => [a, b, c, a, b, c][i] === s).at(-1)!);
    expect(latest.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(8);
    expect(latest.reduce((x, y) => x + y, 0)).toBe(8);
    // Giving back makes room for the others; another destination has its own cap.
    const heldByA = latest[0];
    expect(await a.takeSlots!("crm", 0, 8, T, until)).toBe(0);
    expect(await b.takeSlots!("crm", 8, 8, T, until)).toBe(latest[1] + heldByA);
    expect(await a.takeSlots!("slack", 3, 3, T, until)).toBe(3);
    // A share counts until its end: after it, the slots are free for another instance.
    expect(await c.takeSlots!("crm", 8, 8, until, until + 60_000)).toBe(latest[2]);
    expect(await c.takeSlots!("crm", 8, 8, until + 1, until + 60_000)).toBe(8);
  });

  test("a restart gives back the shares this instance held in its previous life, not the others'", async () => {
    const [a, b] = await instances(2);
    expect(await a.takeSlots!("crm", 6, 10, T, T + 60_000)).toBe(6);
    expect(await b.takeSlots!("crm", 10, 10, T, T + 60_000)).toBe(4);
    await a.releaseLeasesAtStart();
    expect(await b.takeSlots!("crm", 10, 10, T, T + 60_000)).toBe(10);
    expect(await a.takeSlots!("crm", 1, 10, T, T + 60_000)).toBe(0);
  });

  test("an instance settles and releases only its own leases; at start it gives back only its own", async () => {
    const [a, b] = await instances(2);
    const rows = [delivery(), delivery(), delivery()];
    await a.record(event(), rows);
    const [mine] = await a.claim("crm", 1, T, 30_000);
    const theirs = await b.claim("crm", 2, T, 30_000);
    expect(await a.release(theirs.map((d) => d.id))).toBe(0);
    await a.settle([{ deliveryId: theirs[0].id, destination: theirs[0].destination, attempt: attempt(), outcome: "delivered", at: T }]);
    expect((await b.admin.getDelivery(theirs[0].id))!.status).toBe("in_flight");
    expect(await a.releaseLeasesAtStart()).toBe(1);
    expect((await a.admin.getDelivery(mine.id))!.status).toBe("pending");
    expect((await a.outboxDepth()).in_flight).toBe(2);
    // A dead instance's leases come back once they expire, whoever sweeps.
    expect(await a.releaseExpiredLeases(T + 30_001)).toBe(2);
  });

  test("an idempotency key sent to several instances at once is stored once", async () => {
    const [a, b, c] = await instances(3);
    const results = await Promise.all(
      [a, b, c, a, b, c].map((s) => s.record(event({ idempotencyKey: "same" }), [delivery()])),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.eventId)).size).toBe(1);
    expect((await a.outboxDepth()).pending).toBe(1);
  });

  test("a digest window closed by every instance at the same instant is closed once", async () => {
    const [a, b, c] = await instances(3);
    for (let n = 0; n < 5; n++) await a.record(event(), [delivery("crm", { status: "held_for_digest", body: `{"n":${n}}` })]);
    const closes = await Promise.all(
      [a, b, c].map((s) =>
        s.digests.closeWindow({
          destination: "crm",
          windowStart: T - 100,
          windowEnd: T + 100,
          maxItems: 10,
          sendEmpty: false,
          buildBody: (items) => `[${items.join(",")}]`,
          now: T + 100,
          newId: (prefix) => newId(prefix, T),
        }),
      ),
    );
    expect(closes.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(closes.map((r) => r.digests[0].id)).size).toBe(1);
    expect((await a.admin.listDeliveries({ limit: 10 })).items.filter((d) => d.route === "digest")).toHaveLength(1);
  });

  test("retention runs on one instance at a time: a batch finding another at work does nothing", async () => {
    const [a, b] = await instances(2);
    const old = event({ id: "evt_0001" });
    const d = delivery();
    await a.record(old, [d]);
    await a.claim("crm", 1, T, 1000);
    await a.settle([{ deliveryId: d.id, destination: d.destination, attempt: attempt(), outcome: "delivered", at: T }]);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const holding = a.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext(${`${a.schema}:retention`}))`;
      await held;
    });
    await Bun.sleep(50);
    expect(await b.purgeBatch("evt_0005", "", 10)).toEqual({ scanned: 0, events: 0, deliveries: 0, attempts: 0, cursor: "" });
    release();
    await holding;
    expect(await b.purgeBatch("evt_0005", "", 10)).toMatchObject({ scanned: 1, events: 1 });
  });

  test("an API key's rate limit is one bucket for every instance", async () => {
    const [a, b, c] = await instances(3);
    const takes = await Promise.all([a, b, c, a, b, c].map((s) => s.takeRateToken!("key1", 4, T)));
    expect(takes.filter((d) => d.allowed)).toHaveLength(4);
    expect(await b.takeRateToken!("key1", 4, T)).toEqual({ allowed: false, retryAfterSeconds: 15 });
    expect(await c.takeRateToken!("key1", 4, T + 15_000)).toEqual({ allowed: true });
    expect((await a.takeRateToken!("key2", 4, T)).allowed).toBe(true);
  });

  test("every instance's heartbeat is visible to all", async () => {
    const [a, b] = await instances(2);
    await a.heartbeat({ id: a.instanceId, version: "1.0.0", configHash: "aaa", startedAt: T }, T + 5);
    await b.heartbeat({ id: b.instanceId, version: "1.0.1", configHash: "aaa", startedAt: T + 1 }, T + 6);
    await a.heartbeat({ id: "gone", version: "0.9.0", configHash: "old", startedAt: T - 9e9 }, T - 8 * 24 * 3_600_000);
    await a.heartbeat({ id: a.instanceId, version: "1.0.0", configHash: "aaa", startedAt: T }, T + 10);
    expect(await b.instances()).toEqual([
      { id: "i0", version: "1.0.0", configHash: "aaa", startedAt: T, lastSeenAt: T + 10 },
      { id: "i1", version: "1.0.1", configHash: "aaa", startedAt: T + 1, lastSeenAt: T + 6 },
    ]);
  });

  test("a destination's pause and circuit are shared; a late write cannot undo a later one", async () => {
    const [a, b] = await instances(2);
    const state = { destination: "crm", paused: true, circuit: "closed" as const, openedAt: null, nextProbeAt: null, probeDelayMs: 0, updatedAt: T + 10, updatedBy: "i0" };
    await a.saveDestinationState!(state);
    expect(await b.destinationStates!()).toEqual([state]);
    await b.saveDestinationState!({ ...state, paused: false, updatedAt: T + 5, updatedBy: "i1" });
    expect(await a.destinationStates!()).toEqual([state]);
    const opened = { ...state, paused: false, circuit: "open" as const, openedAt: T + 20, nextProbeAt: T + 50, probeDelayMs: 30, updatedAt: T + 20, updatedBy: "i1" };
    await b.saveDestinationState!(opened);
    expect(await a.destinationStates!()).toEqual([opened]);
  });

  test("a hint is for the other instances of its schema only", () => {
    expect(hintIsForOthersOf(hintPayload("relay", "i0"), "relay", "i1")).toBe(true);
    expect(hintIsForOthersOf(hintPayload("relay", "i0"), "relay", "i0")).toBe(false);
    expect(hintIsForOthersOf(hintPayload("other", "i0"), "relay", "i1")).toBe(false);
    expect(hintIsForOthersOf("relay", "relay", "i1")).toBe(false);
  });

  test("a commit on one instance wakes the others (NOTIFY); other schemas' commits do not", async () => {
    const [a, b] = await instances(2);
    const [elsewhere] = await instances(1);
    let woken = 0;
    b.onCommit(() => woken++);
    await elsewhere.record(event(), [delivery()]);
    await Bun.sleep(100);
    expect(woken).toBe(0);
    await a.record(event(), [delivery()]);
    for (let i = 0; i < 50 && woken === 0; i++) await Bun.sleep(10);
    expect(woken).toBeGreaterThan(0);
  });
});

suite("PostgreSQL going away", () => {
  test("while the database is unreachable, writes fail with 503 + Retry-After, and work again once it is back", async () => {
    const schema = testSchema("away");
    const target = new URL(POSTGRES_URL);
    const proxy = tcpProxy(target.hostname, Number(target.port || 5432));
    const url = new URL(schema.url);
    url.port = String(proxy.port());
    url.hostname = "127.0.0.1";
    const store = await openPostgresStore({ url: url.toString(), pool: 2 });
    try {
      await store.record(event(), [delivery()]);
      proxy.stop();
      const failed = await store.record(event(), [delivery()]).then(() => null, (e) => e);
      expect(failed).toBeInstanceOf(Unavailable);
      expect(failed).toMatchObject({ status: 503, headers: { "retry-after": expect.any(String) } });
      await expect(store.ping()).rejects.toBeInstanceOf(Unavailable);
      proxy.start();
      let back = false;
      for (let i = 0; i < 50 && !back; i++) {
        back = await store.record(event(), [delivery()]).then(() => true, () => false);
        if (!back) await Bun.sleep(100);
      }
      expect(back).toBe(true);
    } finally {
      proxy.stop();
      await store.close().catch(() => {});
      await schema.drop();
    }
  });
});
