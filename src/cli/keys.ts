import { parseArgs } from "node:util";
import { loadConfig } from "../config/load.ts";
import { createApiKeys, DEFAULT_RATE_LIMIT_PER_MINUTE, keySource, SCOPES } from "../auth/keys.ts";
import { iso, withStore } from "./store-command.ts";

export const KEYS_USAGE = `Usage:
  relay keys create --name NAME [--scopes ${SCOPES.join(",")}] [--rate-limit ${DEFAULT_RATE_LIMIT_PER_MINUTE}] [--source SOURCE] [--config FILE]
  relay keys list   [--config FILE]
  relay keys revoke ID [--config FILE]

create prints the key on stdout, once; only its hash is stored. Scopes default to webhook:write.`;

/** `relay keys …`: works on the store named by the config, also while `relay serve` runs. */
export async function keysCommand(args: string[], configPath: string): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        name: { type: "string" },
        scopes: { type: "string" },
        "rate-limit": { type: "string" },
        source: { type: "string" },
        config: { type: "string", short: "c" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${KEYS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, ...extra] = positionals;
  if (sub !== "create" && sub !== "list" && sub !== "revoke") {
    console.error(sub ? `unknown keys command "${sub}"\n\n${KEYS_USAGE}` : KEYS_USAGE);
    return 2;
  }

  const config = loadConfig(configPath);
  return withStore(config.storage, async (store) => {
    const keys = createApiKeys(store);
    if (sub === "create") {
      if (!values.name) return usage("--name is required");
      const rate = values["rate-limit"] === undefined ? undefined : Number(values["rate-limit"]);
      if (rate !== undefined && !(Number.isInteger(rate) && rate > 0)) return usage("--rate-limit must be a positive integer");
      const scopes = (values.scopes ?? "webhook:write").split(",").map((s) => s.trim()).filter(Boolean);
      const source = keySource(config.sources, scopes, values.source);
      const created = await keys.createKey({ name: values.name, scopes, rateLimitPerMinute: rate, source }, Date.now());
      const r = created.record;
      console.error(
        `created API key ${r.id} "${r.name}": scopes ${r.scopes.join(",")}, source ${r.source ?? "any"}, ${r.rateLimitPerMinute} requests/minute`,
      );
      console.error("store the key now: it is shown only this once");
      console.log(created.key);
      return 0;
    }
    if (sub === "list") {
      console.log(["ID", "NAME", "SCOPES", "SOURCE", "RATE/MIN", "CREATED", "LAST USED", "STATUS"].join("\t"));
      for (const k of await keys.list()) {
        console.log(
          [
            k.id,
            k.name,
            k.scopes.join(","),
            k.source ?? "any",
            k.rateLimitPerMinute ?? "unlimited",
            iso(k.createdAt),
            k.lastUsedAt === null ? "never" : iso(k.lastUsedAt),
            k.revokedAt === null ? "active" : `revoked ${iso(k.revokedAt)}`,
          ].join("\t"),
        );
      }
      return 0;
    }
    const [id] = extra;
    if (!id) return usage("revoke needs a key id");
    if (!(await keys.revoke(id, Date.now()))) {
      console.error(`unknown API key "${id}"`);
      return 1;
    }
    console.log(`revoked ${id}`);
    return 0;
  });
}

function usage(problem: string): number {
  console.error(`${problem}\n\n${KEYS_USAGE}`);
  return 2;
}
