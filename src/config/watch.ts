import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { ConfigError, errorMessage } from "../errors.ts";
import type { Config } from "./types.ts";

export interface WatchOptions {
  file: string;
  load: (file: string) => Config;
  apply: (config: Config) => void;
  /** Told why an edit was rejected; the running config stays. */
  reject: (error: unknown) => void;
  /** Editors write in bursts (truncate, write, rename); wait for quiet before reading. */
  debounceMs?: number;
}

/**
 * Reloads the YAML when it changes (and on `reload()`, e.g. from SIGHUP).
 * Watches the folder, not the file, so editors that replace the file by rename are seen too.
 */
export function watchConfig(opts: WatchOptions) {
  const debounceMs = opts.debounceMs ?? 100;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;
  const name = basename(opts.file);

  const reload = (): boolean => {
    let next: Config;
    try {
      next = opts.load(opts.file);
    } catch (error) {
      opts.reject(error);
      return false;
    }
    opts.apply(next);
    return true;
  };

  try {
    watcher = watch(dirname(opts.file), (_event, changed) => {
      if (changed && changed.toString() !== name) return;
      clearTimeout(timer);
      timer = setTimeout(reload, debounceMs);
    });
  } catch (error) {
    opts.reject(new Error(`cannot watch ${opts.file}: ${(error as Error).message}`));
  }

  return {
    reload,
    stop(): void {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

export function describeReloadError(error: unknown): { errors: string[] } {
  if (error instanceof ConfigError) return { errors: error.message.split("\n") };
  return { errors: [errorMessage(error)] };
}
