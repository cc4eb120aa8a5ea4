import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { ConfigError } from "../../src/errors.ts";
import { tempDir } from "../support/tmp.ts";

// $RELAY_HOST, $RELAY_PORT and $RELAY_STORAGE_PATH replace the YAML's values, so an image can run any mounted file.

const ROOT = join(import.meta.dir, "..", "..");
const YAML = `
server: { host: 127.0.0.1, port: 9090 }
storage: { path: ./data/relay.db }
sources: { shop: {} }
`;
const FILE = "/config/relay.yaml";
const parse = (env: Record<string, string>) => parseConfig(YAML, FILE, env);

describe("environment overrides", () => {
  test("without them the YAML decides, a relative path read from the config's folder", () => {
    const config = parse({});
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: 9090 });
    expect(config.storage.path).toBe("/config/data/relay.db");
  });

  test("set, they replace server.host, server.port and storage.path", () => {
    const config = parse({ RELAY_HOST: "0.0.0.0", RELAY_PORT: "8080", RELAY_STORAGE_PATH: "/data/relay.db" });
    expect(config.server).toMatchObject({ host: "0.0.0.0", port: 8080 });
    expect(config.storage.path).toBe("/data/relay.db");
  });

  test("empty ones give the YAML its say back", () => {
    const config = parse({ RELAY_HOST: "", RELAY_PORT: " ", RELAY_STORAGE_PATH: "" });
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: 9090 });
    expect(config.storage.path).toBe("/config/data/relay.db");
  });

  test("a relative RELAY_STORAGE_PATH is read from the working directory, as a shell would", () => {
    expect(parse({ RELAY_STORAGE_PATH: "state/x.db" }).storage.path).toBe(resolve(process.cwd(), "state/x.db"));
  });

  test("a RELAY_PORT that is not a port is an error naming the variable", () => {
    const messageFor = (port: string) => {
      try {
        parse({ RELAY_PORT: port });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).message;
      }
    };
    for (const port of ["http", "0", "70000", "80.5"]) {
      expect(messageFor(port)).toBe(`$RELAY_PORT: server.port: must be a port number 1–65535, got "${port}"`);
    }
    // A URL pasted into the wrong variable is echoed without its credentials.
    expect(messageFor("postgres://relay:pg-S3cret@db/relay")).toBe(
      '$RELAY_PORT: server.port: must be a port number 1–65535, got "postgres://***@db/relay"',
    );
  });

  test("the config stays frozen", () => {
    const config = parse({ RELAY_HOST: "0.0.0.0" });
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.storage)).toBe(true);
  });

  test("relay.example.yaml mounted as /config/relay.yaml, with the image's environment, listens everywhere and stores in /data", () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(join(ROOT, "Dockerfile"), "utf8").split("\n").filter((l) => l.startsWith("ENV "))) {
      for (const [, name, value] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[name!] = value!;
    }
    const example = readFileSync(join(ROOT, "relay.example.yaml"), "utf8");
    const config = parseConfig(example, env.RELAY_CONFIG!, env);
    expect(config.file).toBe("/config/relay.yaml");
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.storage.path).toBe("/data/relay.db");
    // Without the image's environment the same file puts the database in the read-only /config.
    expect(parseConfig(example, env.RELAY_CONFIG!, {}).storage.path).toBe("/config/data/relay.db");
  });
});

test("relay check says which values the environment replaced", () => {
  const tmp = tempDir("relay-overrides-");
  try {
    const file = join(tmp.dir, "relay.yaml");
    writeFileSync(file, YAML);
    const env = { ...process.env, RELAY_HOST: "0.0.0.0", RELAY_STORAGE_PATH: join(tmp.dir, "state.db"), RELAY_PORT: "" };
    const r = Bun.spawnSync([process.execPath, join(ROOT, "src", "main.ts"), "check", "--config", file], { env });
    expect(r.exitCode).toBe(0);
    const out = r.stdout.toString();
    expect(out).toContain(`server.host: 0.0.0.0 (from $RELAY_HOST)\nstorage.path: ${join(tmp.dir, "state.db")} (from $RELAY_STORAGE_PATH)\n`);
    expect(out).not.toContain("server.port:");
  } finally {
    tmp.cleanup();
  }
});
