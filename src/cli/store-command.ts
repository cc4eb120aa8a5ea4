import { RelayError } from "../errors.ts";
import { connectStore } from "../store/open.ts";
import type { Store } from "../store/types.ts";
import type { StorageConfig } from "../config/types.ts";

/** Runs a command on the store the config names: a RelayError is printed and exits 1; the store is always closed. */
export async function withStore(storage: StorageConfig, run: (store: Store) => Promise<number>): Promise<number> {
  const store = await connectStore(storage);
  try {
    return await run(store);
  } catch (error) {
    if (!(error instanceof RelayError)) throw error;
    console.error(error.message);
    return 1;
  } finally {
    await store.close();
  }
}

export const iso = (ms: number) => new Date(ms).toISOString();
