import type { StorageConfig } from "../config/types.ts";
import { openStore } from "./store.ts";
import type { Store } from "./types.ts";

/** Opens the store the config names: the SQLite file at `path`. */
export async function connectStore(storage: StorageConfig): Promise<Store> {
  return openStore(storage.path);
}
