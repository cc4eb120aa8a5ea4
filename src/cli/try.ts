import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { maskUrl } from "../config/describe.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { buildRequest, type OutboundRequest } from "../delivery/request.ts";
import { NotFound, RelayError } from "../errors.ts";
import { digestBody } from "../digest/body.ts";
import { egressDecision } from "./egress.ts";
import { readEvent } from "../ingest/receive.ts";
import { plan } from "../routing/plan.ts";
import { connectStore } from "../store/open.ts";
import type { Store } from "../store/types.ts";

export interface DryRunDelivery {
  route: string;
  destination: string;
  status: "pending" | "held_for_digest" | "dead";
  error?: string;
  request?: OutboundRequest;
  /** Where the attempt would connect, or why the egress policy refuses it. */
  egress?: { allowed: true; address: string } | { allowed: false; reason: string };
  /** Digest destinations: the batch a flush would send now (this event included); `request` is its first part. */
  batch?: { items: number; parts: number };
}

export interface DryRun {
  source: string;
  type: string;
  message: string;
  deliveries: DryRunDelivery[];
}

/** What a digest destination holds now: the bodies a flush would batch, and where the window starts. */
export interface HeldItems {
  bodies(destination: string, upTo: number): Promise<string[]>;
  windowStart(destination: string): Promise<number | null>;
}

/**
 * What Relay would send for a payload: matching routes, and each destination's exact body and headers. Sends nothing.
 * A digest destination shows the batch a flush would send now: the items it holds (`held`) plus this one.
 */
export async function dryRun(
  config: Config,
  sourceName: string,
  rawBody: string,
  headers: Record<string, string>,
  now: number,
  held?: HeldItems,
): Promise<DryRun> {
  const source = config.sources[sourceName];
  if (!source) throw new NotFound(`unknown source "${sourceName}" (known: ${Object.keys(config.sources).join(", ")})`);
  const lowered = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const { event, message } = readEvent(source, rawBody, lowered, now);
  const rows = await plan(event, config);
  const deliveries = await Promise.all(rows.map(async (row) => {
    const out: DryRunDelivery = { route: row.route, destination: row.destination, status: row.status };
    if (row.status === "dead") out.error = row.lastError ?? "transform failed";
    else {
      const dest = config.destinations[row.destination];
      if (dest.digest) {
        const items = [...((await held?.bodies(dest.name, now)) ?? []), row.body];
        const parts = Math.ceil(items.length / dest.digest.maxItems);
        const body = digestBody({
          format: dest.digest.body,
          destination: dest.name,
          windowStart: (await held?.windowStart(dest.name)) ?? now,
          windowEnd: now,
          items: items.slice(0, dest.digest.maxItems),
          part: 1,
          parts,
        });
        out.batch = { items: items.length, parts };
        out.request = buildRequest(dest, { deliveryId: row.id, eventId: null, eventType: "digest", body }, now);
      } else {
        out.request = buildRequest(dest, { deliveryId: row.id, eventId: event.id, eventType: event.type, body: row.body }, now);
      }
    }
    return out;
  }));
  for (const d of deliveries) {
    if (!d.request) continue;
    const target = await egressDecision(config, d.request.url);
    d.egress = target.ok ? { allowed: true, address: target.address } : { allowed: false, reason: target.reason };
  }
  return { source: source.name, type: event.type, message, deliveries };
}

export function formatDryRun(run: DryRun): string {
  const lines = [`source ${run.source} → event type "${run.type}" (${run.message})`];
  if (run.deliveries.length === 0) lines.push("no route matches: the event would be stored with no deliveries");
  for (const d of run.deliveries) {
    const batch = d.batch ? ` (held for the digest; a flush now sends ${d.batch.items} item${d.batch.items === 1 ? "" : "s"}${d.batch.parts > 1 ? ` in ${d.batch.parts} parts, part 1 shown` : ""})` : "";
    lines.push("", `route ${d.route} → ${d.destination}${batch}`);
    if (d.error) {
      lines.push(`  would be dead: ${d.error}`);
      continue;
    }
    const req = d.request!;
    lines.push(`  POST ${maskUrl(req.url)}`);
    if (d.egress) lines.push(d.egress.allowed ? `  egress: allowed → ${d.egress.address}` : `  egress: refused: ${d.egress.reason}`);
    for (const [name, value] of Object.entries(req.headers)) lines.push(`  ${name}: ${value}`);
    lines.push("", `  ${req.body}`);
  }
  return lines.join("\n");
}

export const TRY_USAGE = `Usage: relay try --source NAME --payload FILE [--headers FILE] [--json] [--config FILE]

Shows which routes match a payload and the exact body and headers (signatures included) each destination would get.
A digest destination shows the batch a flush would send now: the items it holds plus this one. Sends nothing.
--headers: a JSON file of request headers; --json: machine-readable output.`;

/** `relay try --config FILE --source S --payload FILE [--headers FILE] [--json]` */
export async function tryCommand(args: string[], configPath: string): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", short: "c" },
      source: { type: "string", short: "s" },
      payload: { type: "string" },
      headers: { type: "string" },
      json: { type: "boolean" },
    },
    allowPositionals: false,
    strict: true,
  });
  if (!values.source || !values.payload) {
    console.error(TRY_USAGE);
    return 2;
  }
  const config = loadConfig(configPath);
  const body = readFileSync(values.payload, "utf8");
  const headers = values.headers ? (JSON.parse(readFileSync(values.headers, "utf8")) as Record<string, string>) : {};
  // Held digest items are read from the store when it exists (try never creates a SQLite file); an unreachable
  // PostgreSQL leaves them out rather than failing the dry run.
  const store: Store | null = config.storage.postgres
    ? await connectStore(config.storage).catch(() => null)
    : existsSync(config.storage.path)
      ? await connectStore(config.storage)
      : null;
  const held: HeldItems | undefined = store
    ? {
        bodies: (destination, upTo) => store.digests.heldBodies(destination, upTo),
        windowStart: async (destination) => {
          const oldest = await store.digests.oldestHeldAt(destination);
          return (await store.digests.lastClosedWindowEnd(destination)) ?? (oldest === null ? null : oldest - 1);
        },
      }
    : undefined;
  try {
    const run = await dryRun(config, values.source, body, headers, Date.now(), held);
    console.log(values.json ? JSON.stringify(run, null, 2) : formatDryRun(run));
    return 0;
  } catch (error) {
    if (error instanceof RelayError) {
      console.error(`rejected (${error.status}): ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await store?.close();
  }
}
