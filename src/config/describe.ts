import { createHash } from "node:crypto";
import type { Config, FieldCondition, RouteConfig, SourceConfig } from "./types.ts";

// Human-readable views of a loaded config: the routing table of `relay check`, and URLs safe to show.

const COLUMNS = ["ROUTE", "FROM", "WHEN", "TO", "TRANSFORM", "DIGEST"] as const;

/** One row per (route, destination), in fixed-width columns; credentials in URLs are masked. */
export function routingTable(config: Config): string {
  const rows: string[][] = [];
  for (const route of config.routes) {
    const from = route.from.map((name) => sourceLabel(name, config.sources[name])).join(", ");
    const when = conditionSummary(route);
    for (const name of route.to) {
      const destination = config.destinations[name];
      const digest = destination?.digest ? `digest ${destination.digest.cron} ${destination.digest.timezone}` : "-";
      rows.push([
        route.name,
        from,
        when,
        destination ? `${name} ${maskUrl(destination.url)}` : name,
        route.transform.mode,
        digest,
      ]);
    }
  }
  if (rows.length === 0) return "(no routes)";
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(COLUMNS), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function sourceLabel(name: string, source: SourceConfig | undefined): string {
  const id = source?.id ?? "<generated at start>";
  return `${name} (/api/webhook/${id})`;
}

/** `type order.*|chat.* and body.total >= 100`, or `*` when the route takes every event. */
export function conditionSummary(route: RouteConfig): string {
  const parts: string[] = [];
  if (route.when.types.length > 0) parts.push(`type ${route.when.types.join("|")}`);
  for (const field of route.when.fields) parts.push(describeCondition(field));
  return parts.length === 0 ? "*" : parts.join(" and ");
}

const SYMBOLS = { equals: "==", not_equals: "!=", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

function describeCondition(c: FieldCondition): string {
  switch (c.op) {
    case "exists":
      return c.value ? `${c.path} exists` : `${c.path} missing`;
    case "in":
      return `${c.path} in ${JSON.stringify(c.value)}`;
    default:
      return `${c.path} ${SYMBOLS[c.op]} ${JSON.stringify(c.value)}`;
  }
}

/** Userinfo, every query value and the fragment become `***`: any query value may carry a token, not only `token=`. */
export function maskUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL we can take apart: still hide anything shaped like credentials or query values.
    return url.replace(/\/\/[^/?#@]*@/, "//***@").replace(/([?&][^=&#]*)=[^&#]*/g, "$1=***");
  }
  const userinfo = parsed.username !== "" || parsed.password !== "" ? "***@" : "";
  const query = parsed.search
    .slice(1)
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      return eq < 0 ? "***" : `${pair.slice(0, eq)}=***`;
    })
    .join("&");
  const authority = parsed.host === "" ? "" : `//${userinfo}${parsed.host}`;
  return `${parsed.protocol}${authority}${parsed.pathname}${query ? `?${query}` : ""}${parsed.hash ? "#***" : ""}`;
}

/** A short fingerprint of the running config: two instances (or two reloads) with the same hash run the same config. */
export function configHash(config: Config): string {
  return createHash("sha256").update(JSON.stringify({ ...config, file: undefined })).digest("hex").slice(0, 12);
}
