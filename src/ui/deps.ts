import type { AdminActions } from "../admin/actions.ts";
import type { AdminDestinationsDeps } from "../admin/destinations.ts";
import type { ApiKeys } from "../auth/keys.ts";
import type { Sessions } from "../auth/sessions.ts";

/** What the dashboard needs; the composition root injects the worker's and the scheduler's parts (ui/ never imports delivery/ or digest/). */
export interface UiDeps extends AdminDestinationsDeps {
  sessions: Sessions;
  keys: ApiKeys;
  pause: (destination: string) => string;
  resume: (destination: string) => string;
  /** POST /api/digests/:destination/flush, the same call. */
  flush: (destination: string) => Promise<{ digests: Array<{ id: string; items: number }>; items: number }>;
  /** Next close of each digest destination's window (epoch ms). */
  digestJobs: () => Array<{ destination: string; nextRunAt: number | null }>;
  /** The admin API's views and actions (ui/ imports admin/kit.ts only). */
  admin: AdminActions;
  /** The last reload of relay.yaml, applied or rejected. */
  lastReload: () => { at: number; applied: boolean; errors: string[] } | null;
}
