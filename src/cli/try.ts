import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { maskUrl } from "../config/describe.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { buildRequest, type OutboundRequest } from "../delivery/request.ts";
import { RelayError } from "../errors.ts";
import { plan, readEvent } from "../ingest/receive.ts";

export interface DryRunDelivery {
  route: string;
  destination: string;
  status: "pending" | "held_for_digest" | "dead";
  error?: string;
  request?: OutboundRequest;
}

export interface DryRun {
  source: string;
  type: string;
  message: string;
  deliveries: DryRunDelivery[];
}

/** What Relay would send for a payload: matching routes, and each destination's exact body and headers. Sends nothing. */
export async function dryRun(
  config: Config,
  sourceName: string,
  rawBody: string,
  headers: Record<string, string>,
  now: number,
): Promise<DryRun> {
  const source = config.sources[sourceName];
  if (!source) throw new RelayError("unknown_source", 404, `unknown source "${sourceName}" (known: ${Object.keys(config.sources).join(", ")})`);
  const lowered = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const { event, message } = readEvent(source, rawBody, lowered, now);
  const rows = await plan(event, config);
  return {
    source: source.name,
    type: event.type,
    message,
    deliveries: rows.map((row) => {
      const out: DryRunDelivery = { route: row.route, destination: row.destination, status: row.status };
      if (row.status === "dead") out.error = row.lastError ?? "transform failed";
      else {
        const dest = config.destinations[row.destination];
        out.request = buildRequest(dest, { deliveryId: row.id, eventId: event.id, eventType: event.type, body: row.body }, now);
      }
      return out;
    }),
  };
}

export function formatDryRun(run: DryRun): string {
  const lines = [`source ${run.source} → event type "${run.type}" (${run.message})`];
  if (run.deliveries.length === 0) lines.push("no route matches: the event would be stored with no deliveries");
  for (const d of run.deliveries) {
    lines.push("", `route ${d.route} → ${d.destination}${d.status === "held_for_digest" ? " (held for the daily digest)" : ""}`);
    if (d.error) {
      lines.push(`  would be dead: ${d.error}`);
      continue;
    }
    const req = d.request!;
    lines.push(`  POST ${maskUrl(req.url)}`);
    for (const [name, value] of Object.entries(req.headers)) lines.push(`  ${name}: ${value}`);
    lines.push("", `  ${req.body}`);
  }
  return lines.join("\n");
}

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
    console.error("usage: relay try --config FILE --source NAME --payload FILE [--headers FILE] [--json]");
    return 2;
  }
  const config = loadConfig(configPath);
  const body = readFileSync(values.payload, "utf8");
  const headers = values.headers ? (JSON.parse(readFileSync(values.headers, "utf8")) as Record<string, string>) : {};
  try {
    const run = await dryRun(config, values.source, body, headers, Date.now());
    console.log(values.json ? JSON.stringify(run, null, 2) : formatDryRun(run));
    return 0;
  } catch (error) {
    if (error instanceof RelayError) {
      console.error(`rejected (${error.status}): ${error.message}`);
      return 1;
    }
    throw error;
  }
}
