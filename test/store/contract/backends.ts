import { afterEach, beforeEach, describe } from "bun:test";
import { join } from "node:path";
import { openPostgresStore } from "../../../src/store/postgres/store.ts";
import { openStore } from "../../../src/store/store.ts";
import type { AttemptRecord, NewDelivery, NewEvent, Store } from "../../../src/store/types.ts";
import { postgresEnabled, testSchema } from "../../support/postgres.ts";
import { tempDir } from "../../support/tmp.ts";

/** One backend under the contract: opens a fresh, empty store per test and removes it afterwards. */
export interface Backend {
  name: "sqlite" | "postgres";
  enabled: boolean;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

/** SQLite always; PostgreSQL when RELAY_TEST_POSTGRES_URL is set (one schema per test, dropped after it). */
export function backends(label: string): Backend[] {
  const opened: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const done of opened.splice(0).reverse()) await done();
  };
  return [
    {
      name: "sqlite",
      enabled: true,
      async open() {
        const tmp = tempDir();
        const store = openStore(join(tmp.dir, "relay.db"));
        opened.push(async () => {
          await store.close().catch(() => {});
          tmp.cleanup();
        });
        return store;
      },
      cleanup,
    },
    {
      name: "postgres",
      enabled: postgresEnabled(),
      async open() {
        const schema = testSchema(label);
        const store = await openPostgresStore({ url: schema.url, pool: 4, instanceId: "contract" });
        opened.push(async () => {
          await store.close().catch(() => {});
          await schema.drop();
        });
        return store;
      },
      cleanup,
    },
  ];
}

/** Runs `body` once per backend, in a describe named after it; `store()` is a fresh store for the current test. */
export function eachBackend(label: string, body: (store: () => Store, backend: Backend["name"]) => void): void {
  for (const backend of backends(label)) {
    const suite = backend.enabled ? describe : describe.skip;
    suite(backend.name, () => {
      let current: Store;
      beforeEach(async () => {
        current = await backend.open();
      });
      afterEach(async () => {
        await backend.cleanup();
      });
      body(() => current, backend.name);
    });
  }
}

export const T = 1_700_000_000_000;
let seq = 0;
/** A unique id with a prefix, sorting in creation order within a test. */
export function id(prefix: string): string {
  seq++;
  return `${prefix}_${String(T)}${String(seq).padStart(8, "0")}`;
}

export function event(overrides: Partial<NewEvent> = {}): NewEvent {
  return { id: id("evt"), source: "shop", type: "order", receivedAt: T, headers: { "x-a": "1" }, body: '{"a":1}', ...overrides };
}

export function delivery(destination = "crm", overrides: Partial<NewDelivery> = {}): NewDelivery {
  return { id: id("dlv"), route: "r", destination, status: "pending", body: "{}", nextAttemptAt: T, ...overrides };
}

export function attempt(overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return { startedAt: T, durationMs: 10, statusCode: 200, response: "ok", error: null, ...overrides };
}
