import { VERSION } from "../version.ts";
import type { CircuitConfig, EgressPolicy, RetryPolicy } from "./types.ts";
import { parseDuration } from "./units.ts";

// Every default of relay.yaml, as an admin would write it: the loader, the JSON Schema (its `default`s and the
// "Default …" of each description) and the destinations built in code all read them here.

export const DEFAULTS = {
  host: "0.0.0.0",
  port: 8080,
  storagePath: "./data/relay.db",
  postgresPool: 10,
  retention: "30d",
  kind: "generic" as const,
  maxBody: "100kb",
  maxDepth: 64,
  commitTimeout: "5s",
  ui: true,
  minFree: "64mb",
  disableAfter: "5d",
  egressMode: "default" as const,
  eventType: "body.type",
  requireApiKey: false,
  variableRequired: false,
  tolerance: "5m",
  timeout: "10s",
  concurrency: 10,
  ackStatus: "2xx",
  transform: "envelope" as const,
  retry: ["5s", "1m", "5m", "30m", "2h", "6h", "12h"],
  exponential: { attempts: 8, base: "5s", max: "1h", jitter: true },
  digest: { timezone: "UTC", maxItems: 1000, sendEmpty: false, body: "array" as const },
  circuit: { failures: 5, probe: "30s", maxProbe: "10m" },
  userAgent: `Relay/${VERSION}`,
  idValue: "destination" as const,
  timestampFormat: "ms" as const,
} as const;

const ms = (d: string) => parseDuration(d) as number;

/** The retry schedule of a destination without `retry:`. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ kind: "schedule", delaysMs: DEFAULTS.retry.map(ms) });

/** The circuit of a destination without `circuit:`. */
export const DEFAULT_CIRCUIT: CircuitConfig = Object.freeze({
  failures: DEFAULTS.circuit.failures,
  probeMs: ms(DEFAULTS.circuit.probe),
  maxProbeMs: ms(DEFAULTS.circuit.maxProbe),
});

/** How long an ingest request waits for its commit when the config built in code gives no commit_timeout. */
export const DEFAULT_COMMIT_TIMEOUT_MS = ms(DEFAULTS.commitTimeout);

/** The continuous failure that disables a destination without `disable_after:`. */
export const DEFAULT_DISABLE_AFTER_MS = ms(DEFAULTS.disableAfter);

/** The egress policy without `egress:`: only ranges no receiver lives in are refused. */
export const DEFAULT_EGRESS: EgressPolicy = Object.freeze({ mode: DEFAULTS.egressMode, allow: [], deny: [] });
