#!/usr/bin/env bun
import { parseArgs } from "node:util";
import { KEYS_USAGE, keysCommand } from "./cli/keys.ts";
import { egressReport } from "./cli/egress.ts";
import { healthCommand } from "./cli/health.ts";
import { MIGRATE_USAGE, migrateCommand } from "./cli/migrate.ts";
import { TRY_USAGE, tryCommand } from "./cli/try.ts";
import { maskUrl, routingTable } from "./config/describe.ts";
import type { Config } from "./config/types.ts";
import { loadConfig } from "./config/load.ts";
import { OVERRIDES, overridesFrom } from "./config/overrides.ts";
import { storageProblem, storageWarnings } from "./config/storage-access.ts";
import { describeReloadError, watchConfig } from "./config/watch.ts";
import { DIGEST_USAGE, digestCommand } from "./cli/digest.ts";
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
  relay digest  list | flush DESTINATION           digest windows: what is held, when it closes; send a batch now
  relay health  [--port N] [--published]           exit 0 if the relay listens where the config says and answers
                                                   healthy (--published: and not on loopback only), else 1
  relay migrate --to postgres://…                  copy the SQLite store into PostgreSQL (resumable, verified by counts)
  relay help
  relay <command> --help                           one command's usage

The config path defaults to $RELAY_CONFIG, else ./relay.yaml. These variables, when set, replace config values:
${OVERRIDES.map((o) => `  $${o.variable} → ${o.key}`).join("\n")}`;

/** Each command's own usage, printed by `relay <command> --help` before anything is read. */
const COMMAND_HELP: Record<string, string> = {
  serve: `Usage: relay serve [--config relay.yaml] [--port N]

Accepts webhooks and delivers them until SIGTERM or SIGINT. The config file is watched: a valid edit applies at
once, SIGHUP forces a reload. --port (or $RELAY_PORT) overrides server.port; 0 picks a free port.`,
  check: `Usage: relay check [--config relay.yaml]

Validates the YAML and prints the routing table. Every problem is printed as file:line:column: key.path: message;
exits 1 when there is any.`,
  sources: `Usage: relay sources [--config relay.yaml]

Prints each source's webhook URL path, generating and storing the random ids of sources without a fixed id.`,
  try: TRY_USAGE,
  keys: KEYS_USAGE,
  digest: DIGEST_USAGE,
  migrate: MIGRATE_USAGE,
  health: `Usage: relay health [--config relay.yaml] [--port N] [--published]

Exits 0 when a server listens where the config says (server.host, server.port or --port) and answers
GET /api/health with 200 within 3 s, else 1 with the reason. --published also fails a loopback-only server.host.`,
  version: "Usage: relay version\n\nPrints the version.",
  help: USAGE,
};

async function main(argv: string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
  if (Object.hasOwn(COMMAND_HELP, command) && (rest.includes("--help") || rest.includes("-h"))) {
    console.log(COMMAND_HELP[command]);
    return 0;
  }
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: "string", short: "c" }, port: { type: "string", short: "p" }, published: { type: "boolean" } },
    allowPositionals: true,
    strict: false,
  });
  const configPath = (values.config as string | undefined) ?? process.env.RELAY_CONFIG ?? "relay.yaml";

  switch (command) {
    case "serve":
      return serve(configPath, values.port as string | undefined);
    case "check": {
      const config = loadConfig(configPath);
      for (const warning of storageWarnings(config)) console.error(`warning: ${warning}`);
      console.log(`${config.file}: ok`);
      for (const o of overridesFrom(process.env, process.cwd(), [])) console.log(`${o.key}: ${o.value} (from $${o.variable})`);
      console.log(describeStorage(config.storage));
      console.log(routingTable(config));
      console.log(await egressReport(config));
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
    case "digest":
      return digestCommand(rest, configPath);
    case "health":
      return healthCommand({ configPath, port: values.port as string | undefined, published: values.published === true });
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
  // With storage.postgres the SQLite path is unused: nothing to write beside it.
  const problem = config.storage.postgres ? undefined : storageProblem(config.storage.path);
  if (problem) throw new Error(`cannot open the database ${config.storage.path}: ${problem}`);
  const relay = await startRelay(config, { log, port: port ? Number(port) : undefined });
  const watcher = watchConfig({
    file: config.file,
    load: (file) => loadConfig(file),
    apply: (next) => void relay.reload(next).catch((error) => log.error("config reload failed", { error: String(error) })),
    reject: (error) => {
      log.error("config change rejected; the running config stays", describeReloadError(error));
      relay.reloadRejected(describeReloadError(error).errors);
    },
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
