import type { Config } from "../config/types.ts";
import { randomToken } from "../ids.ts";
import type { Store } from "../store/types.ts";

/**
 * URL id → source name. A source without a fixed `id` gets a random 128-bit one,
 * generated once and kept in the store so its URL survives restarts.
 */
export async function resolveSourceUrls(config: Config, store: Store, now: number): Promise<Map<string, string>> {
  const urls = new Map<string, string>();
  for (const source of Object.values(config.sources)) {
    const id = source.id ?? await store.sourceId(source.name, () => `src_${randomToken(16)}`, now);
    urls.set(id, source.name);
  }
  return urls;
}
