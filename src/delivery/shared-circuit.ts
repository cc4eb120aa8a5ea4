import type { SharedDestinationState } from "../store/types.ts";
import { CLOSED, type Circuit } from "./circuit.ts";

// PURE: a destination's circuit as instances sharing one store exchange it. Only what matters to the others travels
// (paused, open or not, when to probe); failure counts stay with the instance that saw them.

/** What this instance tells the others about `c`; a probing (half-open) circuit is open to everyone else. */
export function sharedState(destination: string, c: Circuit, now: number, by: string): SharedDestinationState {
  return {
    destination,
    paused: c.paused,
    circuit: c.status === "closed" ? "closed" : "open",
    openedAt: c.openedAt,
    nextProbeAt: c.nextProbeAt,
    probeDelayMs: c.probeDelayMs,
    updatedAt: now,
    updatedBy: by,
  };
}

/** The local circuit once another instance's newer `shared` state is taken in; the same object when nothing changes. */
export function adopt(local: Circuit, shared: SharedDestinationState): Circuit {
  let next = local.paused === shared.paused ? local : { ...local, paused: shared.paused };
  if (shared.circuit === "open" && next.status === "closed") {
    next = {
      ...next,
      status: "open",
      openedAt: shared.openedAt,
      nextProbeAt: shared.nextProbeAt,
      probeDelayMs: shared.probeDelayMs,
      probeId: null,
    };
  } else if (shared.circuit === "open" && next.status === "open" && shared.nextProbeAt !== next.nextProbeAt) {
    // Another instance probed and failed: its later probe time holds for everyone.
    next = { ...next, nextProbeAt: shared.nextProbeAt, probeDelayMs: shared.probeDelayMs };
  } else if (shared.circuit === "closed" && next.status !== "closed") {
    next = { ...CLOSED, paused: next.paused };
  }
  return next;
}
