import { Cron } from "croner";
import { parseArgs } from "node:util";
import { systemClock } from "../clock.ts";
import { loadConfig } from "../config/load.ts";
import { createLogger } from "../log.ts";
import { createDigestScheduler } from "../digest/scheduler.ts";
import { iso, withStore } from "./store-command.ts";

export const DIGEST_USAGE = `Usage:
  relay digest list [--config FILE]                 each digest destination: schedule, items held, current window, next close
  relay digest flush DESTINATION [--config FILE]    close the destination's window now and send its batch

Works on the store named by the config, also while \`relay serve\` runs: the running relay sends a flushed batch within a second.`;

/** `relay digest list | flush DESTINATION`. */
export async function digestCommand(args: string[], configPath: string): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { config: { type: "string", short: "c" } }, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${DIGEST_USAGE}`);
    return 2;
  }
  const [sub, destination, ...extra] = parsed.positionals;
  if ((sub !== "list" && sub !== "flush") || extra.length > 0 || (sub === "flush" && !destination) || (sub === "list" && destination)) {
    console.error(sub && sub !== "list" && sub !== "flush" ? `unknown digest command "${sub}"\n\n${DIGEST_USAGE}` : DIGEST_USAGE);
    return 2;
  }
  const config = loadConfig(configPath);
  return withStore(config.storage, async (store) => {
    const now = Date.now();
    if (sub === "list") {
      const table = store.digests;
      console.log(["DESTINATION", "SCHEDULE", "HELD", "WINDOW START", "NEXT CLOSE"].join("\t"));
      for (const dest of Object.values(config.destinations)) {
        if (!dest.digest) continue;
        const { cron, timezone } = dest.digest;
        const oldest = await table.oldestHeldAt(dest.name);
        const start = (await table.lastClosedWindowEnd(dest.name)) ?? (oldest === null ? null : oldest - 1);
        const next = new Cron(cron, { timezone, paused: true }).nextRun(new Date(now));
        const held = await table.heldCount(dest.name, now);
        console.log([dest.name, `${cron} ${timezone}`, held, start === null ? "-" : iso(start), next ? iso(next.getTime()) : "never"].join("\t"));
      }
      return 0;
    }
    // Logs go to stderr so stdout carries only the result.
    const log = createLogger((line) => process.stderr.write(`${line}\n`), "warn");
    const scheduler = createDigestScheduler({ store, config: () => config, clock: systemClock, log });
    const result = await scheduler.flush(destination!);
    if (result.items === 0) console.log(`${destination}: nothing held, nothing sent`);
    else console.log(`${destination}: ${result.items} item${result.items === 1 ? "" : "s"} in ${result.digests.map((d) => `${d.id} (${d.items})`).join(", ")}`);
    return 0;
  });
}
