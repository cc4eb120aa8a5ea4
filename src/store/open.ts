import type { StorageConfig } from "../config/types.ts";
import { openPostgresStore } from "./postgres/store.ts";
import { openStore } from "./store.ts";
import type { Store } from "./types.ts";

export interface ConnectOptions {
  /** PostgreSQL: this instance's lease owner name (stable across restarts of the same instance). */
  instanceId?: string;
}

/** Opens the store the config names: PostgreSQL when `storage.postgres` is set, else the SQLite file at `path`. */
export async function connectStore(storage: StorageConfig, opts: ConnectOptions = {}): Promise<Store> {
  if (storage.postgres) return openPostgresStore({ url: storage.postgres.url, pool: storage.postgres.pool, instanceId: opts.instanceId });
  return openStore(storage.path);
}
