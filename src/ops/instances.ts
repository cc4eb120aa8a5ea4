import { createHash } from "node:crypto";
import type { Config } from "../config/types.ts";
import type { Logger } from "../log.ts";
import { HEARTBEAT_MS, type Store } from "../store/types.ts";

/** A short fingerprint of what an instance runs (the file's location aside), to spot instances that disagree. */
export function configHash(config: Config): string {
  const { file: _file, ...rest } = config;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 16);
}

export interface HeartbeatOptions {
  store: Store;
  config: () => Config;
  version: string;
  startedAt: number;
  now: () => number;
  log: Logger;
}

/** Writes this instance's row at once and every HEARTBEAT_MS; stop() ends it. */
export function startHeartbeat(opts: HeartbeatOptions) {
  const beat = () =>
    opts.store
      .heartbeat({ id: opts.store.instanceId, version: opts.version, configHash: configHash(opts.config()), startedAt: opts.startedAt }, opts.now())
      .catch((error) => opts.log.warn("heartbeat failed", { error: String(error) }));
  const first = beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref?.();
  return {
    /** The first beat, so a start can wait until its row exists. */
    ready: first,
    beat,
    stop() {
      clearInterval(timer);
    },
  };
}
