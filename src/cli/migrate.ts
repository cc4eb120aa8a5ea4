import { parseArgs } from "node:util";
import { loadConfig } from "../config/load.ts";
import { copySqliteToPostgres } from "../store/copy.ts";
import { describeUrl } from "../store/postgres/connect.ts";
import { openPostgresStore } from "../store/postgres/store.ts";
import { openStore } from "../store/store.ts";

export const MIGRATE_USAGE = `Usage: relay migrate --to postgres://user:password@host:5432/db [--config relay.yaml]

Copies the SQLite store named by storage.path (events, deliveries, attempts, digests, API keys, source ids,
destination health, usage totals) into PostgreSQL, then compares the row counts of every table. Stop Relay first. Running it again resumes an interrupted
copy and copies nothing twice. Then set storage.postgres.url and start Relay.`;

/** `relay migrate --to postgres://…`: exit 0 when every table's counts match, 1 when not, 2 on bad usage. */
export async function migrateCommand(args: string[], configPath: string): Promise<number> {
  const { values } = parseArgs({ args, options: { to: { type: "string" }, config: { type: "string", short: "c" } }, strict: false });
  const to = values.to as string | undefined;
  if (!to || !/^postgres(ql)?:\/\//.test(to)) {
    console.error(`${to ? `not a PostgreSQL URL: ${describeUrl(to)}` : "--to is required"}\n\n${MIGRATE_USAGE}`);
    return 2;
  }
  const config = loadConfig(configPath);
  const source = openStore(config.storage.path);
  const target = await openPostgresStore({ url: to, pool: 2, instanceId: "relay-migrate" });
  try {
    console.error(`copying ${config.storage.path} to ${describeUrl(to)}`);
    const counts = await copySqliteToPostgres(source.sqlite, target.sql);
    let ok = true;
    for (const c of counts) {
      const same = c.source === c.target;
      ok &&= same;
      console.log(`${c.table}\t${c.source} in SQLite\t${c.target} in PostgreSQL\t${c.copied} copied now\t${same ? "ok" : "MISMATCH"}`);
    }
    console.error(ok ? "every table matches" : "counts differ: was Relay still running on the SQLite file? run the command again");
    return ok ? 0 : 1;
  } finally {
    await target.close();
    await source.close();
  }
}
