import type { Clock } from "../clock.ts";
import type { Config, DestinationConfig } from "../config/types.ts";
import { repeatedError, type Logger } from "../log.ts";
import type { ClaimedDelivery, Settlement, Store } from "../store/types.ts";
import * as circuit from "./circuit.ts";
import { adopt, sharedState } from "./shared-circuit.ts";
import { attemptDelivery } from "./attempt.ts";
import * as backoff from "./backoff.ts";
import { Lane } from "./lane.ts";
import { Loop } from "./loop.ts";
import { afterGrant, askNow, grantEnd, SHORT_GRANT_RETRY_MS, usableSlots } from "./share.ts";
import { settlementBatcher } from "./settlements.ts";

export interface WorkerOptions {
  store: Store;
  /** Read on every pass, so a reloaded config applies without a restart. */
  config: () => Config;
  clock: Clock;
  log: Logger;
  /** Longest idle sleep between passes (the wake on commit makes new work start at once). */
  idleMs?: number;
  /** Extra lease time beyond the destination's timeout before a claim counts as abandoned. */
  leaseMarginMs?: number;
  random?: () => number;
  /** Finished attempts are settled, and their slots refilled, in groups gathered over this long (ms). */
  batchMs?: number;
  /** Told when the store refuses or accepts the worker's writes (health). */
  storage?: { failed(reason: string): void; succeeded(): void };
  /** Called after each settled attempt (metrics, tests). */
  onSettled?: (s: Settlement, dest: DestinationConfig) => void;
}

export type Worker = ReturnType<typeof createWorker>;

/** Drains the outbox: per destination lane, claim due rows up to its concurrency cap → send → settle in batches. */
export function createWorker(opts: WorkerOptions) {
  const { store, clock, log } = opts;
  const idleMs = opts.idleMs ?? 1000;
  const leaseMarginMs = opts.leaseMarginMs ?? 30_000;
  const random = opts.random ?? Math.random;
  const batchMs = opts.batchMs ?? 1;
  // Failing claims (storage full or failing) wait, capped exponentially, instead of spinning; their errors are counted.
  let claimBackoff = backoff.NO_BACKOFF;
  const storeError = repeatedError(log, () => clock.now());

  const lanes = new Map<string, Lane>();
  const laneOf = (name: string) => {
    let lane = lanes.get(name);
    if (!lane) lanes.set(name, (lane = new Lane(name)));
    return lane;
  };
  // Reads create no lane: a name asked about is not necessarily a destination.
  const circuitOf = (name: string) => lanes.get(name)?.circuit ?? circuit.CLOSED;
  const active = new Set<Promise<void>>();
  const shareAsks = new Set<Promise<void>>();
  let startedTotal = 0;
  let lastSweep = 0;
  const settlements = settlementBatcher({
    store,
    log,
    batchMs,
    onSettled: opts.onSettled,
    storage: opts.storage,
    storeError,
  });
  // Lease releases and shared destination states on their way to the store; stop() and runOnce() wait for them.
  const writing = new Set<Promise<void>>();
  const sent = (write: Promise<void>): Promise<void> => {
    writing.add(write);
    write.finally(() => writing.delete(write));
    return write;
  };

  const setCircuit = (lane: Lane, next: circuit.Circuit, fields: Record<string, unknown> = {}, share = true) => {
    const previous = lane.circuit;
    const before = lane.state;
    lane.circuit = next;
    if (share) shareCircuit(lane.name, previous, next);
    const after = lane.state;
    if (before === after) return;
    if (after === "open" || after === "paused") void releaseQueued(lane);
    const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const line = { destination: lane.name, from: before, to: after, ...fields };
    if (after === "paused") log.info("destination paused", line);
    else if (before === "paused") log.info("destination resumed", line);
    else if (after === "open") log.warn("circuit open", { ...line, failures: next.consecutiveFailures, nextProbeAt: at(next.nextProbeAt) });
    else if (after === "half_open") log.info("circuit probing", line);
    else log.info("circuit closed", line);
  };

  // Instances sharing the store share each destination's pause and circuit: changes go out, newer ones come in.
  const sharedSeen = new Map<string, number>();
  const shareCircuit = (name: string, previous: circuit.Circuit, next: circuit.Circuit) => {
    if (!store.saveDestinationState) return;
    const now = clock.now();
    const state = sharedState(name, next, now, store.instanceId);
    const was = sharedState(name, previous, now, store.instanceId);
    if (state.paused === was.paused && state.circuit === was.circuit && state.nextProbeAt === was.nextProbeAt) return;
    sharedSeen.set(name, now);
    void sent(store.saveDestinationState(state).catch((error) => log.error("destination state not shared", { destination: name, error: String(error) })));
  };
  const takeInShared = async () => {
    if (!store.destinationStates) return;
    for (const s of await store.destinationStates()) {
      // This life's own writes are known already; a previous life's (a pause before a restart) are taken in too.
      if (s.updatedAt <= (sharedSeen.get(s.destination) ?? -1)) continue;
      sharedSeen.set(s.destination, s.updatedAt);
      const lane = laneOf(s.destination);
      const next = adopt(lane.circuit, s);
      if (next !== lane.circuit) setCircuit(lane, next, { by: s.updatedBy }, false);
    }
  };

  const deliver = async (dest: DestinationConfig, lane: Lane, d: ClaimedDelivery): Promise<void> => {
    const s = await attemptDelivery(dest, d, clock, random, opts.config().egress);
    // The circuit learns now, not at the deferred settle: the slot this attempt frees is reused before that.
    const verdict = circuit.verdictOf(s.outcome, s.attempt.statusCode);
    setCircuit(lane, circuit.afterAttempt(lane.circuit, d.id, verdict, clock.now(), circuit.circuitSettings(dest)), {
      delivery: d.id,
      status: s.attempt.statusCode,
    });
    settlements.add({ s, dest, d });
  };

  const track = (dest: DestinationConfig, lane: Lane, d: ClaimedDelivery) => {
    lane.inFlight++;
    startedTotal++;
    const p = deliver(dest, lane, d).finally(() => {
      lane.inFlight--;
      active.delete(p);
      const now = clock.now();
      dispatch(dest, now);
      // Keeps the queue ahead of the slots without waiting for the loop, while the outbox has more.
      const current = opts.config().destinations[dest.name];
      if (current && loop.state !== "stopping" && !lane.exhausted) refill(current, now);
      wakeSoon();
    });
    active.add(p);
  };

  /** Starts queued deliveries of a destination while its slots and its circuit allow. */
  const dispatch = (dest: DestinationConfig, now: number): void => {
    const lane = laneOf(dest.name);
    while (loop.state !== "stopping" && lane.queue.length > 0) {
      if (!lane.canStart(slotsOf(dest, lane, now), now)) return;
      const next = lane.queue.shift()!;
      // Its lease would run out mid-attempt: leave it to the sweep, which puts it back in line.
      if (now + dest.timeoutMs >= next.leaseUntil) continue;
      if (lane.circuit.status === "open") setCircuit(lane, circuit.probeStarted(lane.circuit, next.d.id), { delivery: next.d.id });
      track(dest, lane, next.d);
    }
  };

  /** Gives a lane's claimed-but-unsent deliveries back to the outbox. */
  function releaseQueued(lane: Lane): Promise<void> {
    const queue = lane.takeQueue();
    if (queue.length === 0) return Promise.resolve();
    return sent(
      store.release(queue.map((q) => q.d.id)).then(
        () => undefined,
        // The leases then expire and the sweep puts the rows back in line.
        (error) => storeError("release failed", { error: String(error), destination: lane.name }),
      ),
    );
  }
  /** Gives back every queue, then waits until all the settlements and releases sent so far are written. */
  const releaseAllQueued = async () => {
    for (const lane of lanes.values()) void releaseQueued(lane);
    await Promise.allSettled([settlements.written(), ...writing]);
  };

  /** Slots this instance may fill now: the destination's cap, or on a shared outbox this instance's share of it. */
  const slotsOf = (dest: DestinationConfig, lane: Lane, now: number): number =>
    store.takeSlots ? usableSlots(lane.share, dest, now) : dest.concurrency;

  /** Asks the store for this instance's share of a destination's cap when short of it or due to renew it. */
  const askShare = (dest: DestinationConfig, lane: Lane, now: number): void => {
    const want = store.takeSlots ? askNow(lane.share, dest, now) : null;
    if (want === null) return;
    lane.share = { ...lane.share, asking: true };
    const ask = store.takeSlots!(dest.name, want, dest.concurrency, now, grantEnd(dest, now))
      .then(
        (granted) => {
          lane.share = afterGrant(want, granted, now, dest);
          // Claimed rows that this instance may no longer send go back for the holders of the slots.
          if (granted === 0) void releaseQueued(lane);
          else if (loop.state !== "stopping") {
            refill(dest, clock.now());
            dispatch(dest, clock.now());
          }
        },
        (error) => {
          // The grant held so far runs out on its own; attempts stop starting before it does (usableSlots).
          lane.share = { ...lane.share, asking: false, askAt: clock.now() + SHORT_GRANT_RETRY_MS };
          storeError("share of the cap not granted", { error: String(error), destination: dest.name });
        },
      )
      .finally(() => shareAsks.delete(ask));
    shareAsks.add(ask);
  };

  /** Gives every share back at stop, once the attempts under them are over. */
  const giveBackShares = async (): Promise<void> => {
    if (!store.takeSlots) return;
    const destinations = opts.config().destinations;
    await Promise.allSettled(
      [...lanes.values()]
        .filter((lane) => lane.share.slots > 0)
        .map((lane) => {
          const cap = destinations[lane.name]?.concurrency ?? lane.share.slots;
          lane.share = { ...lane.share, slots: 0, until: 0 };
          return store.takeSlots!(lane.name, 0, cap, clock.now(), 0);
        }),
    );
  };

  // One claim per lane at a time; its rows are dispatched the moment it is answered.
  const claimFor = (dest: DestinationConfig, lane: Lane, want: number, now: number): void => {
    const leaseUntil = now + 3 * dest.timeoutMs + leaseMarginMs;
    const forClosedCircuit = lane.circuit.status === "closed";
    lane.claiming = store
      .claim(dest.name, want, now, leaseUntil - now)
      .then(
        (rows) => {
          claimBackoff = backoff.NO_BACKOFF;
          if (rows.length < want) lane.exhausted = true;
          for (const d of rows) lane.queue.push({ d, leaseUntil });
          // The destination may have gone from the config, been paused, or had its circuit open while the claim was
          // out: a closed circuit's batch then goes back, as setCircuit gave back what was queued before.
          const c = lane.circuit;
          if (!(dest.name in opts.config().destinations) || c.paused || (forClosedCircuit && c.status !== "closed")) void releaseQueued(lane);
          else dispatch(dest, clock.now());
        },
        (error) => {
          claimBackoff = backoff.afterFailure(claimBackoff, clock.now());
          opts.storage?.failed(String(error));
          storeError("claim failed", { error: String(error), destination: dest.name, retryInMs: backoff.waitMs(claimBackoff, clock.now()) });
        },
      )
      .finally(() => {
        lane.claiming = null;
      });
  };

  /** Claims for a lane's queue when it runs low, in one batch; at most one claim per lane is out. */
  const refill = (dest: DestinationConfig, now: number): void => {
    const lane = laneOf(dest.name);
    // While claims keep failing (storage full or failing), no lane claims until the back-off has passed.
    const want = backoff.waitMs(claimBackoff, now) > 0 ? 0 : lane.claimWant(slotsOf(dest, lane, now), now);
    if (want > 0) claimFor(dest, lane, want, now);
  };

  const claimsOut = () => [...lanes.values()].flatMap((lane) => (lane.claiming ? [lane.claiming] : []));
  /** Claims and asks for shares with the store; a granted share claims in turn. */
  const storeCallsOut = () => [...claimsOut(), ...shareAsks];

  /** One pass over every destination: refill each queue in one claim, then start what the slots allow. */
  const pass = (): void => {
    void settlements.flush();
    const now = clock.now();
    if (now - lastSweep >= 1000) {
      lastSweep = now;
      store.releaseExpiredLeases(now).then(
        (released) => released > 0 && log.warn("expired leases released", { count: released }),
        (error) => storeError("lease sweep failed", { error: String(error) }),
      );
      takeInShared().catch((error) => log.error("destination states not read", { error: String(error) }));
    }
    const destinations = opts.config().destinations;
    for (const lane of lanes.values()) lane.exhausted = false;
    for (const dest of Object.values(destinations)) {
      askShare(dest, laneOf(dest.name), now);
      refill(dest, now);
      dispatch(dest, now);
    }
    for (const lane of lanes.values()) if (!(lane.name in destinations)) void releaseQueued(lane);
  };

  /** How long the loop may sleep: until the earliest due delivery of a destination with a free slot. */
  const sleepBudget = async (): Promise<number> => {
    const now = clock.now();
    let budget = idleMs;
    // A store that cannot answer leaves the idle sleep as it is; the claims' back-off reports the failure.
    const dues = await Promise.all(
      Object.values(opts.config().destinations).map((dest) => {
        const lane = laneOf(dest.name);
        return lane.dueAt(slotsOf(dest, lane, now), () => store.nextDueAt(dest.name)).catch(() => null);
      }),
    );
    for (const due of dues) if (due !== null && due !== "skip") budget = Math.min(budget, Math.max(0, due - now));
    return Math.max(budget, backoff.waitMs(claimBackoff, now));
  };

  const loop = new Loop({
    // Leases left by this process's previous life go back before the first claim (on PostgreSQL: its own only).
    starting: () =>
      store.releaseLeasesAtStart().then(
        () => undefined,
        (error) => log.error("lease release at start failed", { error: String(error) }),
      ),
    async pass() {
      const before = startedTotal;
      pass();
      // Claims are answered by the writer thread; their rows are dispatched as each answer arrives.
      await Promise.allSettled(storeCallsOut());
      return startedTotal > before;
    },
    sleepBudget,
    onError: (error) => log.error("delivery pass failed", { error: String(error) }),
  });

  // Slots freed within one batch window are refilled by one claim instead of one claim each.
  let wakeTimer: ReturnType<typeof setTimeout> | null = null;
  function wakeSoon(): void {
    if (wakeTimer) return;
    wakeTimer = setTimeout(() => {
      wakeTimer = null;
      loop.notify();
    }, batchMs);
  }

  return {
    /** starting, running, stopping or stopped. */
    state: () => loop.state,

    start(): void {
      loop.start();
    },

    /** Stops claiming, then waits up to `graceMs` for in-flight attempts; unfinished leases return to pending on the next start. */
    stop(graceMs = 10_000): Promise<void> {
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = null;
      return loop.stop(async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.allSettled([...active]),
          new Promise((r) => {
            timer = setTimeout(r, graceMs);
          }),
        ]);
        clearTimeout(timer);
        await Promise.allSettled(storeCallsOut());
        await settlements.flush();
        await releaseAllQueued();
        await giveBackShares();
      });
    },

    /** Wakes the loop (a commit, a resume, a replay): due work starts without waiting for the idle timer. */
    wake(): void {
      loop.notify();
    },

    /** Takes in the pause and circuit changes other instances shared (the loop does so every second). */
    syncShared: takeInShared,

    /** Claims everything due now, sends it and settles it; for tests and one-shot draining. */
    async runOnce(): Promise<number> {
      const before = startedTotal;
      for (;;) {
        const startedBefore = startedTotal;
        pass();
        // Answered claims dispatch their rows as they arrive (a granted share claims in turn); a fast attempt may be
        // over before the last claim is.
        while (storeCallsOut().length > 0 || active.size > 0) await Promise.allSettled([...storeCallsOut(), ...active]);
        await settlements.flush();
        if (startedTotal === startedBefore) break;
      }
      await releaseAllQueued();
      return startedTotal - before;
    },

    /** closed, open, half_open (one probe in flight) or paused; for the admin API and metrics. */
    destinationState(name: string): circuit.CircuitState {
      return circuit.stateOf(circuitOf(name));
    },

    /** The whole circuit record of a destination (failures in a row, next probe time). */
    circuit(name: string): circuit.Circuit {
      return circuitOf(name);
    },

    /** Stops claiming for this destination until resume(); in-flight attempts finish, nothing else is spent. */
    pause(name: string): circuit.CircuitState {
      const lane = laneOf(name);
      setCircuit(lane, circuit.pause(lane.circuit));
      return lane.state;
    },

    /** Lifts a pause and closes an open circuit: the destination's due deliveries go out at once. */
    resume(name: string): circuit.CircuitState {
      const lane = laneOf(name);
      setCircuit(lane, circuit.resume(lane.circuit));
      loop.notify();
      return lane.state;
    },
  };
}
