import type { DestinationConfig } from "../config/types.ts";
import { discardDeadDelivery, retryDeadDelivery } from "./deliveries.ts";
import { destinationStats, discardDeadOf, sendTest, type AdminDestinationsDeps } from "./destinations.ts";
import { replayEvent } from "./events.ts";

// The admin API's computations as plain calls, handed to the dashboard by the composition root: one answer for both.

export function adminActions(deps: AdminDestinationsDeps) {
  return {
    /** GET /api/destinations */
    destinations: () => destinationStats(deps),
    /** POST /api/deliveries/:id/retry */
    retry: (id: string, by: string) => retryDeadDelivery(deps, id, by),
    /** POST /api/deliveries/:id/discard */
    discard: (id: string, by: string) => discardDeadDelivery(deps, id, by),
    /** POST /api/destinations/:name/discard-dead */
    discardDead: (destination: string, by: string) => discardDeadOf(deps, destination, by),
    /** POST /api/destinations/:name/test */
    sendTest: (dest: DestinationConfig, by: string) => sendTest(deps, dest, by),
    /** POST /api/events/:id/replay */
    replay: (eventId: string, by: string) => replayEvent(deps, eventId, undefined, by),
  };
}

export type AdminActions = ReturnType<typeof adminActions>;
