import { Cron } from "croner";

// Pure schedule arithmetic for digests. A tick is an instant the cron expression fires in its
// timezone; a window is the half-open interval (previous tick, tick]. DST is croner's: a fixed
// time that does not exist (02:30 on spring-forward day) fires once at the first valid instant
// after the gap, and a fixed time that occurs twice (fall-back day) fires once, at the first.

/** Beyond this many missed windows, the oldest are merged into the first one kept (nothing is lost). */
export const MAX_MISSED_WINDOWS = 100;

const schedules = new Map<string, Cron>();

function schedule(cron: string, timezone: string): Cron {
  const key = `${timezone}\u0000${cron}`;
  let job = schedules.get(key);
  if (!job) {
    // Paused and without a function: croner only computes, it never sets a timer.
    job = new Cron(cron, { timezone, paused: true });
    // Validates the timezone now rather than at the first tick.
    job.nextRun(new Date(0));
    schedules.set(key, job);
  }
  return job;
}

/** The first tick strictly after `at`, or null when the expression never fires again. */
export function nextTick(cron: string, timezone: string, at: number): number | null {
  return schedule(cron, timezone).nextRun(new Date(at))?.getTime() ?? null;
}

/** The latest tick at or before `at`, or null when there is none. */
export function previousTick(cron: string, timezone: string, at: number): number | null {
  // croner's previousRuns is strictly before its reference.
  const [tick] = schedule(cron, timezone).previousRuns(1, new Date(at + 1));
  return tick ? tick.getTime() : null;
}

/**
 * Ticks in (lastClosed, now], oldest first, that still need their window closed.
 * `lastClosed` null (nothing ever closed): only the latest tick at or before `now`.
 * More than `limit`: only the latest `limit` ticks.
 */
export function missedTicks(
  cron: string,
  timezone: string,
  lastClosed: number | null,
  now: number,
  limit: number = MAX_MISSED_WINDOWS,
): number[] {
  if (limit <= 0) return [];
  const count = lastClosed === null ? 1 : limit;
  const recent = schedule(cron, timezone)
    .previousRuns(count, new Date(now + 1))
    .map((d) => d.getTime());
  return recent.filter((t) => lastClosed === null || t > lastClosed).reverse();
}
