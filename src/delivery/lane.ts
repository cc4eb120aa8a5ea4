import type { ClaimedDelivery } from "../store/types.ts";
import * as circuit from "./circuit.ts";
import { NO_SHARE, type Share } from "./share.ts";

/** A delivery claimed ahead of a free slot, with the end of its lease. */
export interface Queued {
  d: ClaimedDelivery;
  leaseUntil: number;
}

/** One destination's share of the worker: deliveries claimed ahead of its slots, its attempts in flight, its circuit. */
export class Lane {
  /** Claimed ahead of the free slots, so a finished attempt is replaced at once and the database is asked in batches. */
  queue: Queued[] = [];
  inFlight = 0;
  circuit: circuit.Circuit = circuit.CLOSED;
  /** The one claim of this lane with the store, if any. */
  claiming: Promise<void> | null = null;
  /** The last claim came back short: nothing more is due until a pass (commit, timer) says otherwise. */
  exhausted = false;
  /** This instance's share of the destination's cap, when instances share the outbox. */
  share: Share = NO_SHARE;

  constructor(readonly name: string) {}

  get state(): circuit.CircuitState {
    return circuit.stateOf(this.circuit);
  }

  /**
   * How many to claim now, in one batch, for `slots` usable slots: a closed circuit keeps one round queued beyond
   * them; an open one only its probe.
   */
  claimWant(slots: number, now: number): number {
    const c = this.circuit;
    if (c.paused || this.claiming || slots <= 0) return 0;
    if (c.status === "closed") return this.queue.length < slots ? 2 * slots - this.inFlight - this.queue.length : 0;
    return this.queue.length === 0 ? Math.min(1, circuit.claimAllowance(c, now, this.inFlight)) : 0;
  }

  /** Whether `slots` usable slots and the circuit let one more attempt start now. */
  canStart(slots: number, now: number): boolean {
    return this.inFlight < slots && circuit.claimAllowance(this.circuit, now, this.inFlight) > 0;
  }

  /** Empties the queue, for giving its deliveries back to the outbox. */
  takeQueue(): Queued[] {
    const taken = this.queue;
    this.queue = [];
    return taken;
  }

  /** When the loop should look at this lane again on its own, or null when only a wake-up can give it work. */
  async dueAt(slots: number, nextDue: () => Promise<number | null>): Promise<number | null | "skip"> {
    const c = this.circuit;
    // An attempt in flight or a claim out wakes the loop when it ends; without a usable slot there is nothing to start.
    if (this.inFlight > 0 || this.claiming || slots <= 0) return "skip";
    // These claim nothing until a resume or a finished attempt wakes the loop.
    if (c.paused || c.status === "half_open" || (c.status === "open" && this.inFlight > 0)) return "skip";
    let due = await nextDue();
    const probeAt = circuit.wakeAt(c);
    if (due !== null && probeAt !== null) due = Math.max(due, probeAt);
    return due;
  }
}
