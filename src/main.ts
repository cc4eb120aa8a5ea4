#!/usr/bin/env bun
import { parseArgs } from "node:util";
import { keysCommand } from "./auth/cli.ts";
import { migrateCommand } from "./cli/migrate.ts";
import { tryCommand } from "./cli/try.ts";
import { maskUrl, routingTable } from "./config/describe.ts";
import type { Config } from "./config/types.ts";
import { loadConfig } from "./config/load.ts";
import { describeReloadError, watchConfig } from "./config/watch.ts";
import { ConfigError, errorMessage } from "./errors.ts";
import { resolveSourceUrls } from "./ingest/source-urls.ts";
import { createLogger } from "./log.ts";
import { startRelay } from "./server.ts";
import { connectStore } from "./store/open.ts";
import { VERSION } from "./version.ts";

const USAGE = `relay ${VERSION} — self-hosted webhook relay gateway

Usage:
  relay serve   [--config relay.yaml] [--port N]   accept webhooks and deliver them
  relay check   [--config relay.yaml]              validate the YAML and print the routing table
  relay sources [--config relay.yaml]              print each source's webhook URL path
  relay try     --source S --payload FILE [--headers FILE] [--json]
                                                   show what each destination would get; sends nothing
  relay keys    create --name N [--scopes webhook:write,admin] [--rate-limit 600] [--source S]
  relay keys    list | revoke ID                   manage API keys (create prints the key once)
  relay health  [--port N]                         exit 0 if the relay on 127.0.0.1 answers healthy, else 1
  relay migrate --to postgres://…                  copy the SQLite store into PostgreSQL (resumable, verified by counts)
  relay help

The config path defaults to $RELAY_CONFIG, else ./relay.yaml. $RELAY_PORT overrides server.port.`;

async function main(argv: string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: "string", short: "c" }, port: { type: "string", short: "p" } },
    allowPositionals: true,
    strict: false,
  });
  const configPath = (values.config as string | undefined) ?? process.env.RELAY_CONFIG ?? "relay.yaml";

  switch (command) {
    case "serve":
      return serve(configPath, (values.port as string | undefined) ?? process.env.RELAY_PORT);
    case "check": {
      const config = loadConfig(configPath);
      console.log(`${config.file}: ok`);
      console.log(describeStorage(config.storage));
      console.log(routingTable(config));
      return 0;
    }
    case "sources": {
      const config = loadConfig(configPath);
      const store = await connectStore(config.storage);
      for (const [id, name] of await resolveSourceUrls(config, store, Date.now())) console.log(`${name}\tPOST /api/webhook/${id}`);
      await store.close();
      return 0;
    }
    case "keys":
      return keysCommand(rest, configPath);
    case "health":
      return health((values.port as string | undefined) ?? process.env.RELAY_PORT ?? "8080");
    case "try":
      return tryCommand(rest, configPath);
    case "migrate":
      return migrateCommand(rest, configPath);
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    case "version":
    case "--version":
      console.log(VERSION);
      return 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function serve(configPath: string, port: string | undefined): Promise<number> {
  const log = createLogger();
  const config = loadConfig(configPath);
  const relay = await startRelay(config, { log, port: port ? Number(port) : undefined });
  const watcher = watchConfig({
    file: config.file,
    load: (file) => loadConfig(file),
    apply: (next) => void relay.reload(next).catch((error) => log.error("config reload failed", { error: String(error) })),
    reject: (error) => log.error("config change rejected; the running config stays", describeReloadError(error)),
  });
  process.on("SIGHUP", () => void watcher.reload());
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    watcher.stop();
    await relay.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return new Promise<number>(() => {}); // serve until a signal
}

// The container's HEALTHCHECK: distroless images have no curl, so the binary checks itself.
async function health(port: string): Promise<number> {
  const url = `http://127.0.0.1:${port}/api/health`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    console.log(`${res.status} ${await res.text()}`);
    return res.ok ? 0 : 1;
  } catch (error) {
    console.error(`${url}: ${errorMessage(error)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      console.error(`${error.issues.length} problem${error.issues.length === 1 ? "" : "s"} in the config`);
    } else {
      console.error(errorMessage(error));
    }
    process.exit(1);
  },
);

/** Which backend `relay serve` would use, without secrets. */
function describeStorage(storage: Config["storage"]): string {
  if (!storage.postgres) return `storage: SQLite file ${storage.path}`;
  return `storage: PostgreSQL ${maskUrl(storage.postgres.url)} (pool ${storage.postgres.pool})`;
}
