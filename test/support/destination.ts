import type { Config, DestinationConfig } from "../../src/config/types.ts";
import { DEFAULT_RETRY } from "../../src/config/defaults.ts";

/** A normalised destination as the loader would produce it, for tests below the config layer. */
export function destination(name: string, url: string, overrides: Partial<DestinationConfig> = {}): DestinationConfig {
  return {
    name,
    url,
    headers: {},
    timeoutMs: 10_000,
    concurrency: 10,
    retry: DEFAULT_RETRY,
    ack: { statuses: [[200, 299]] },
    userAgent: "Relay/test",
    ...overrides,
  };
}

export function configWith(storagePath: string, destinations: DestinationConfig[]): Config {
  return {
    file: "",
    server: { host: "127.0.0.1", port: 0 },
    storage: { path: storagePath, retentionMs: 30 * 86_400_000 },
    sources: {},
    destinations: Object.fromEntries(destinations.map((d) => [d.name, d])),
    routes: [],
  };
}
