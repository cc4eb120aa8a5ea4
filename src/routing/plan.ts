// The fan-out decision: which outbox rows an event makes. Ingest, admin replay and `relay try` all ask it.
import type { Config } from "../config/types.ts";
import { newId } from "../ids.ts";
import type { InboundEvent } from "./event.ts";
import { matchRoutes } from "./match.ts";
import { render } from "./render.ts";

/** A new outbox row (the store's NewDelivery): sent now, held for a digest, or dead when its transform failed. */
export interface PlannedDelivery {
  id: string;
  route: string;
  destination: string;
  status: "pending" | "held_for_digest" | "dead";
  body: string;
  nextAttemptAt: number;
  lastError?: string | null;
}

/** One outbox row per (matching route, destination); the body is rendered now so history never changes. */
export async function plan(event: InboundEvent, config: Config): Promise<PlannedDelivery[]> {
  const rows: PlannedDelivery[] = [];
  for (const route of matchRoutes(event, config.routes)) {
    const rendered = await render(route.transform, event);
    for (const name of route.to) {
      const dest = config.destinations[name];
      const row: PlannedDelivery = {
        id: newId("dlv", event.receivedAt),
        route: route.name,
        destination: name,
        status: dest?.digest ? "held_for_digest" : "pending",
        body: rendered.ok ? rendered.body : "",
        nextAttemptAt: event.receivedAt,
      };
      if (!rendered.ok) {
        row.status = "dead";
        row.lastError = `transform failed: ${rendered.error}`;
      }
      rows.push(row);
    }
  }
  return rows;
}
