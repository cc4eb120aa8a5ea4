import type { DestinationConfig } from "../config/types.ts";

// An instance's share of a destination's concurrency cap when several instances send from one outbox (PostgreSQL):
// the shares of all instances never add up to more than the cap, so neither do their attempts in flight.

export interface Share {
  /** Slots granted to this instance. */
  slots: number;
  /** The grant runs out then, unless renewed; another instance may then be granted these slots. */
  until: number;
  /** No new ask before then: the last one came back short, other instances hold the rest. */
  askAt: number;
  /** An ask is with the store. */
  asking: boolean;
}

export const NO_SHARE: Share = { slots: 0, until: 0, askAt: 0, asking: false };

/** How long past its timeout a grant outlives an attempt started under it, so renewing has time. */
const GRANT_MARGIN_MS = 30_000;
/** How soon a short grant asks again (the holders of the rest keep theirs while they send). */
export const SHORT_GRANT_RETRY_MS = 1000;

/** How long a grant lasts. */
export function grantMs(dest: DestinationConfig): number {
  return dest.timeoutMs + GRANT_MARGIN_MS;
}

/** When a grant asked for at `now` runs out: what the store records and what the instance keeps, one figure. */
export function grantEnd(dest: DestinationConfig, now: number): number {
  return now + grantMs(dest);
}

/** Slots usable now: an attempt started now must end (its timeout) before the grant runs out. */
export function usableSlots(share: Share, dest: DestinationConfig, now: number): number {
  return share.until > now + dest.timeoutMs ? Math.min(share.slots, dest.concurrency) : 0;
}

/**
 * What to ask for now, or null: the whole cap while short of it (not before askAt), and a renewal once half the margin
 * is gone, well before the grant stops being usable (when less than a timeout is left).
 */
export function askNow(share: Share, dest: DestinationConfig, now: number): number | null {
  if (share.asking) return null;
  if (share.slots !== dest.concurrency) return now >= share.askAt ? dest.concurrency : null;
  return share.until - now < dest.timeoutMs + GRANT_MARGIN_MS / 2 ? dest.concurrency : null;
}

/** The share after the store's answer to an ask for `want` made at `now`. */
export function afterGrant(want: number, granted: number, now: number, dest: DestinationConfig): Share {
  return { slots: granted, until: granted > 0 ? grantEnd(dest, now) : 0, askAt: granted < want ? now + SHORT_GRANT_RETRY_MS : now, asking: false };
}
