import { isAbsolute, resolve } from "node:path";
import type { ConfigIssue } from "../errors.ts";
import { hideCredentials } from "./issues.ts";
import type { Config } from "./types.ts";

// Environment variables that replace a config value, whatever the YAML says: one image runs any mounted file.

export interface Override {
  variable: string;
  key: "server.host" | "server.port" | "storage.path";
  value: string | number;
}

/** Variable → config key; an unset or empty variable leaves the YAML's value. */
export const OVERRIDES = [
  { variable: "RELAY_HOST", key: "server.host" },
  { variable: "RELAY_PORT", key: "server.port" },
  { variable: "RELAY_STORAGE_PATH", key: "storage.path" },
] as const;

/** The overrides `env` sets, checked; a relative RELAY_STORAGE_PATH is read from `cwd`, as a shell would. */
export function overridesFrom(env: Record<string, string | undefined>, cwd: string, issues: ConfigIssue[]): Override[] {
  const set: Override[] = [];
  for (const { variable, key } of OVERRIDES) {
    const text = env[variable]?.trim();
    if (!text) continue;
    const issue = (message: string) => issues.push({ file: `$${variable}`, line: 0, column: 0, path: key, message: hideCredentials(message) });
    if (key === "server.port") {
      const port = Number(text);
      if (/^\d+$/.test(text) && port >= 1 && port <= 65535) set.push({ variable, key, value: port });
      else issue(`must be a port number 1–65535, got "${text}"`);
    } else if (key === "storage.path") {
      set.push({ variable, key, value: text === ":memory:" || isAbsolute(text) ? text : resolve(cwd, text) });
    } else {
      set.push({ variable, key, value: text });
    }
  }
  return set;
}

/** `config` with each override in place. */
export function applyOverrides(config: Config, overrides: Override[]): Config {
  let { server, storage } = config;
  for (const o of overrides) {
    if (o.key === "server.host") server = { ...server, host: String(o.value) };
    else if (o.key === "server.port") server = { ...server, port: Number(o.value) };
    else storage = { ...storage, path: String(o.value) };
  }
  return { ...config, server, storage };
}
