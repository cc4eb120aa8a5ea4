import { DEFAULT_CIRCUIT } from "../config/defaults.ts";
import type { CircuitConfig, DestinationConfig } from "../config/types.ts";

// Pure decisions about a destination's health: when to stop sending, when to probe, when to resume.
// closed ─N failures or 410─▶ open ─probe due─▶ half_open ─probe ok─▶ closed
//                               ▲                   │ probe failed (delay doubles)
//                               └───────────────────┘
// A manual pause overrides all of it until a resume, which also closes the circuit.

export type CircuitState = "closed" | "open" | "half_open" | "paused";

export interface Circuit {
  status: "closed" | "open" | "half_open";
  paused: boolean;
  /** Failed attempts in a row while closed. */
  consecutiveFailures: number;
  openedAt: number | null;
  /** Wait before the next probe; doubles with each failed probe, up to maxProbeMs. */
  probeDelayMs: number;
  /** When an open circuit may send its probe. */
  nextProbeAt: number | null;
  /** The delivery sent as the probe while half_open. */
  probeId: string | null;
}

/** What an attempt says about the endpoint. */
export type Verdict = "success" | "failure" | "gone";

export const CLOSED: Circuit = Object.freeze({
  status: "closed",
  paused: false,
  consecutiveFailures: 0,
  openedAt: null,
  probeDelayMs: 0,
  nextProbeAt: null,
  probeId: null,
});

/** The destination's settings, the defaults when its config carries none (destinations built in code). */
export function circuitSettings(dest: DestinationConfig): CircuitConfig {
  return dest.circuit ?? DEFAULT_CIRCUIT;
}

export function stateOf(c: Circuit): CircuitState {
  return c.paused ? "paused" : c.status;
}

export function verdictOf(outcome: "delivered" | "retry" | "dead", statusCode: number | null): Verdict {
  if (outcome === "delivered") return "success";
  return statusCode === 410 ? "gone" : "failure";
}

/**
 * How many deliveries may be claimed now: unbounded when closed, exactly one when an open circuit's
 * probe is due and nothing of the destination is still in flight, none otherwise.
 */
export function claimAllowance(c: Circuit, now: number, inFlight: number): number {
  if (c.paused) return 0;
  if (c.status === "closed") return Number.POSITIVE_INFINITY;
  if (c.status === "open" && inFlight === 0 && c.nextProbeAt !== null && now >= c.nextProbeAt) return 1;
  return 0;
}

/** An open circuit sent `deliveryId` as its probe. */
export function probeStarted(c: Circuit, deliveryId: string): Circuit {
  return { ...c, status: "half_open", probeId: deliveryId };
}

/** When the circuit may claim again on its own (the probe time of an open one); null: no timer needed. */
export function wakeAt(c: Circuit): number | null {
  return !c.paused && c.status === "open" ? c.nextProbeAt : null;
}

/** The circuit after an attempt of `deliveryId` ended at `now` with `verdict`. */
export function afterAttempt(c: Circuit, deliveryId: string, verdict: Verdict, now: number, settings: CircuitConfig): Circuit {
  if (verdict === "success") {
    // Any acknowledged attempt proves the endpoint answers, even one started before the circuit opened.
    return c.status === "closed" && c.consecutiveFailures === 0 ? c : { ...CLOSED, paused: c.paused };
  }
  if (c.status === "closed") {
    const failures = c.consecutiveFailures + 1;
    if (verdict === "gone" || failures >= settings.failures) return open(c, now, settings.probeMs, failures);
    return { ...c, consecutiveFailures: failures };
  }
  if (c.status === "half_open" && c.probeId === deliveryId) {
    const delay = Math.min(settings.maxProbeMs, Math.max(settings.probeMs, c.probeDelayMs * 2));
    return { ...c, status: "open", probeId: null, probeDelayMs: delay, nextProbeAt: now + delay };
  }
  // A straggler claimed before the circuit opened: the probe decides, not it.
  return c;
}

function open(c: Circuit, now: number, delayMs: number, failures: number): Circuit {
  return { ...c, status: "open", consecutiveFailures: failures, openedAt: now, probeDelayMs: delayMs, nextProbeAt: now + delayMs, probeId: null };
}

export function pause(c: Circuit): Circuit {
  return c.paused ? c : { ...c, paused: true };
}

/** An operator's resume: sending starts again at once, whatever the circuit had decided. */
export function resume(_c: Circuit): Circuit {
  return CLOSED;
}
