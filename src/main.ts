#!/usr/bin/env bun
import { parseArgs } from "node:util";
import { keysCommand } from "./auth/cli.ts";
import { healthCommand } from "./cli/health.ts";
import { tryCommand } from "./cli/try.ts";
import { routingTable } from "./config/describe.ts";
import { loadConfig } from "./config/load.ts";
import { OVERRIDES, overridesFrom } from "./config/overrides.ts";
import { storageProblem, storageWarnings } from "./config/storage-access.ts";
import { describeReloadError, watchConfig } from "./config/watch.ts";
import { ConfigError, errorMessage } from "./errors.ts";
import { resolveSourceUrls } from "./ingest/source-urls.ts";
import { createLogger } from "./log.ts";
import { startRelay } from "./server.ts";
import { openStore } from "./store/store.ts";
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
  relay health  [--port N] [--published]           exit 0 if the relay listens where the config says and answers
                                                   healthy (--published: and not on loopback only), else 1
  relay help

The config path defaults to $RELAY_CONFIG, else ./relay.yaml. These variables, when set, replace config values:
${OVERRIDES.map((o) => `  $${o.variable} → ${o.key}`).join("\n")}`;

async function main(argv: string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
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
      console.log(routingTable(config));
      return 0;
    }
    case "sources": {
      const config = loadConfig(configPath);
      const store = openStore(config.storage.path);
      for (const [id, name] of resolveSourceUrls(config, store, Date.now())) console.log(`${name}\tPOST /api/webhook/${id}`);
      store.close();
      return 0;
    }
    case "keys":
      return keysCommand(rest, configPath);
    case "health":
      return healthCommand({ configPath, port: values.port as string | undefined, published: values.published === true });
    case "try":
      return tryCommand(rest, configPath);
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
  const problem = storageProblem(config.storage.path);
  if (problem) throw new Error(`cannot open the database ${config.storage.path}: ${problem}`);
  const relay = await startRelay(config, { log, port: port ? Number(port) : undefined });
  const watcher = watchConfig({
    file: config.file,
    load: (file) => loadConfig(file),
    apply: (next) => relay.reload(next),
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
