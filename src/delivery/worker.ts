import type { Clock } from "../clock.ts";
import type { Config, DestinationConfig } from "../config/types.ts";
import type { Logger } from "../log.ts";
import type { ClaimedDelivery, Settlement, Store } from "../store/types.ts";
import * as circuit from "./circuit.ts";
import { adopt, sharedState } from "./shared-circuit.ts";
import { attemptDelivery } from "./attempt.ts";

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
  /** Called after each settled attempt (metrics, tests). */
  onSettled?: (s: Settlement, dest: DestinationConfig) => void;
}

export type Worker = ReturnType<typeof createWorker>;

/** Drains the outbox: claim due rows per destination up to its concurrency cap → send → settle. */
export function createWorker(opts: WorkerOptions) {
  const { store, clock, log } = opts;
  const idleMs = opts.idleMs ?? 1000;
  const leaseMarginMs = opts.leaseMarginMs ?? 30_000;
  const random = opts.random ?? Math.random;
  const batchMs = opts.batchMs ?? 1;

  const inFlight = new Map<string, number>();
  const active = new Set<Promise<void>>();
  // Claimed ahead of the free slots, so a finished attempt is replaced at once and the database is asked in batches.
  const queued = new Map<string, Array<{ d: ClaimedDelivery; leaseUntil: number }>>();
  const queueOf = (name: string) => {
    let queue = queued.get(name);
    if (!queue) queued.set(name, (queue = []));
    return queue;
  };
  let startedTotal = 0;
  let stopping = false;
  let settleQueue: Array<{ s: Settlement; dest: DestinationConfig; d: ClaimedDelivery }> = [];
  let settleScheduled = false;
  const circuits = new Map<string, circuit.Circuit>();
  const circuitOf = (name: string) => circuits.get(name) ?? circuit.CLOSED;

  const setCircuit = (name: string, next: circuit.Circuit, fields: Record<string, unknown> = {}, share = true) => {
    const previous = circuitOf(name);
    const before = circuit.stateOf(previous);
    circuits.set(name, next);
    if (share) shareCircuit(name, previous, next);
    const after = circuit.stateOf(next);
    if (before === after) return;
    if (after === "open" || after === "paused") void releaseQueued(name);
    const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const line = { destination: name, from: before, to: after, ...fields };
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
      const next = adopt(circuitOf(s.destination), s);
      if (next !== circuitOf(s.destination)) setCircuit(s.destination, next, { by: s.updatedBy }, false);
    }
  };

  let running = false;
  let loop: Promise<void> | null = null;
  let woken = false;
  let wakeSleeper: (() => void) | null = null;
  let lastSweep = 0;

  // Settlements and lease releases on their way to the store; stop() and runOnce() wait for them.
  const writing = new Set<Promise<void>>();
  const sent = (write: Promise<void>): Promise<void> => {
    writing.add(write);
    write.finally(() => writing.delete(write));
    return write;
  };
  // Attempts that ended but whose settlement is not written yet: still in_flight in the store, no longer at the receiver.
  const settling = new Map<string, Set<string>>();
  const settled = (batch: Array<{ dest: DestinationConfig; d: ClaimedDelivery }>) => {
    for (const { dest, d } of batch) settling.get(dest.name)?.delete(d.id);
    // A shared store counts those rows in its caps until now: the freed room is claimed at once.
    if (store.shared) wakeSoon();
  };
  const flushSettlements = (): Promise<void> => {
    settleScheduled = false;
    const batch = settleQueue;
    settleQueue = [];
    if (batch.length === 0) return Promise.resolve();
    return sent(store.settle(batch.map((b) => b.s)).finally(() => settled(batch)).then(
      () => {
        for (const { s, dest, d } of batch) {
          logSettlement(log, s, dest, d);
          opts.onSettled?.(s, dest);
        }
      },
      // The leases will expire and the deliveries be retried: at-least-once holds.
      (error) => log.error("settle failed", { error: String(error), count: batch.length }),
    ));
  };

  const deliver = async (dest: DestinationConfig, d: ClaimedDelivery): Promise<void> => {
    const s = await attemptDelivery(dest, d, clock, random);
    // The circuit learns now, not at the deferred settle: the slot this attempt frees is reused before that.
    const verdict = circuit.verdictOf(s.outcome, s.attempt.statusCode);
    setCircuit(dest.name, circuit.afterAttempt(circuitOf(dest.name), d.id, verdict, clock.now(), circuit.circuitSettings(dest)), {
      delivery: d.id,
      status: s.attempt.statusCode,
    });
    settleQueue.push({ s, dest, d });
    if (store.shared) settling.set(dest.name, (settling.get(dest.name) ?? new Set<string>()).add(d.id));
    if (!settleScheduled) {
      settleScheduled = true;
      setTimeout(flushSettlements, batchMs);
    }
  };

  const track = (dest: DestinationConfig, d: ClaimedDelivery) => {
    inFlight.set(dest.name, (inFlight.get(dest.name) ?? 0) + 1);
    startedTotal++;
    const p = deliver(dest, d).finally(() => {
      inFlight.set(dest.name, (inFlight.get(dest.name) ?? 1) - 1);
      active.delete(p);
      const now = clock.now();
      dispatch(dest, now);
      // Keeps the queue ahead of the slots without waiting for the loop, while the outbox has more.
      const current = opts.config().destinations[dest.name];
      if (current && !stopping && !exhausted.has(dest.name)) refill(current, now);
      wakeSoon();
    });
    active.add(p);
  };

  /** Starts queued deliveries of a destination while its slots and its circuit allow. */
  const dispatch = (dest: DestinationConfig, now: number): void => {
    const queue = queued.get(dest.name);
    while (!stopping && queue && queue.length > 0) {
      const busy = inFlight.get(dest.name) ?? 0;
      const c = circuitOf(dest.name);
      if (busy >= dest.concurrency || circuit.claimAllowance(c, now, busy) <= 0) return;
      const next = queue.shift()!;
      // Its lease would run out mid-attempt: leave it to the sweep, which puts it back in line.
      if (now + dest.timeoutMs >= next.leaseUntil) continue;
      if (c.status === "open") setCircuit(dest.name, circuit.probeStarted(c, next.d.id), { delivery: next.d.id });
      track(dest, next.d);
    }
  };

  /** Gives a destination's claimed-but-unsent deliveries back to the outbox. */
  function releaseQueued(name: string): Promise<void> {
    const queue = queued.get(name);
    if (!queue || queue.length === 0) return Promise.resolve();
    queued.delete(name);
    return sent(store.release(queue.map((q) => q.d.id)).then(
      () => undefined,
      // The leases then expire and the sweep puts the rows back in line.
      (error) => log.error("release failed", { error: String(error), destination: name }),
    ));
  }
  /** Gives back every queue, then waits until all the settlements and releases sent so far are written. */
  const releaseAllQueued = async () => {
    for (const name of [...queued.keys()]) void releaseQueued(name);
    await Promise.allSettled([...writing]);
  };

  // One claim per destination at a time; its rows are dispatched the moment it is answered.
  const claiming = new Map<string, Promise<void>>();
  const claimFor = (dest: DestinationConfig, want: number, now: number): void => {
    const leaseUntil = now + 3 * dest.timeoutMs + leaseMarginMs;
    const forClosedCircuit = circuitOf(dest.name).status === "closed";
    const claimed = store
      // Instances sharing the outbox count each other's leases in the claim, so the cap holds in total.
      .claim(dest.name, want, now, leaseUntil - now, store.shared ? { max: dest.concurrency, finished: [...(settling.get(dest.name) ?? [])] } : undefined)
      .then(
        (rows) => {
          if (rows.length < want) exhausted.add(dest.name);
          const queue = queueOf(dest.name);
          for (const d of rows) queue.push({ d, leaseUntil });
          // The destination may have gone from the config, been paused, or had its circuit open while the claim was
          // out: a closed circuit's batch then goes back, as setCircuit gave back what was queued before.
          const c = circuitOf(dest.name);
          if (!(dest.name in opts.config().destinations) || c.paused || (forClosedCircuit && c.status !== "closed")) void releaseQueued(dest.name);
          else dispatch(dest, clock.now());
        },
        (error) => log.error("claim failed", { error: String(error), destination: dest.name }),
      )
      .finally(() => claiming.delete(dest.name));
    claiming.set(dest.name, claimed);
  };

  // Destinations whose last claim came back short: nothing more is due until a pass (commit, timer) says otherwise.
  const exhausted = new Set<string>();

  /** Claims for a destination's queue when it runs low, in one batch; at most one claim per destination is out. */
  const refill = (dest: DestinationConfig, now: number): void => {
    const queue = queueOf(dest.name);
    const busy = inFlight.get(dest.name) ?? 0;
    const c = circuitOf(dest.name);
    // A closed circuit keeps one round queued beyond its slots; an open one claims only its probe.
    const want = c.paused || claiming.has(dest.name)
      ? 0
      : c.status === "closed"
        ? queue.length < dest.concurrency
          ? 2 * dest.concurrency - busy - queue.length
          : 0
        : queue.length === 0
          ? Math.min(1, circuit.claimAllowance(c, now, busy))
          : 0;
    if (want > 0) claimFor(dest, want, now);
  };

  /** One pass over every destination: refill each queue in one claim, then start what the slots allow. */
  const pass = (): void => {
    void flushSettlements();
    const now = clock.now();
    if (now - lastSweep >= 1000) {
      lastSweep = now;
      store.releaseExpiredLeases(now).then(
        (released) => released > 0 && log.warn("expired leases released", { count: released }),
        (error) => log.error("lease sweep failed", { error: String(error) }),
      );
      takeInShared().catch((error) => log.error("destination states not read", { error: String(error) }));
    }
    const destinations = opts.config().destinations;
    exhausted.clear();
    for (const dest of Object.values(destinations)) {
      refill(dest, now);
      dispatch(dest, now);
    }
    for (const name of queued.keys()) if (!(name in destinations)) void releaseQueued(name);
  };

  /** How long the loop may sleep: until the earliest due delivery of a destination with a free slot. */
  const sleepBudget = async (): Promise<number> => {
    const now = clock.now();
    let budget = idleMs;
    for (const dest of Object.values(opts.config().destinations)) {
      const busy = inFlight.get(dest.name) ?? 0;
      if (busy >= dest.concurrency) continue;
      const c = circuitOf(dest.name);
      // These claim nothing until a resume or a finished attempt wakes the loop.
      if (c.paused || c.status === "half_open" || (c.status === "open" && busy > 0)) continue;
      let due = await store.nextDueAt(dest.name);
      const probeAt = circuit.wakeAt(c);
      if (due !== null && probeAt !== null) due = Math.max(due, probeAt);
      if (due !== null) budget = Math.min(budget, Math.max(0, due - now));
    }
    return budget;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || ms <= 0) {
        woken = false;
        // Yield to I/O even when there is work at once, so the loop can never starve the server.
        setImmediate(resolve);
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleeper = null;
        woken = false;
        resolve();
      }
      wakeSleeper = done;
    });

  function wake(): void {
    woken = true;
    wakeSleeper?.();
  }

  // Slots freed within one batch window are refilled by one claim instead of one claim each.
  let wakeTimer: ReturnType<typeof setTimeout> | null = null;
  function wakeSoon(): void {
    if (wakeTimer) return;
    wakeTimer = setTimeout(() => {
      wakeTimer = null;
      wake();
    }, batchMs);
  }

  const run = async () => {
    while (running) {
      const before = startedTotal;
      try {
        pass();
        // Claims are answered by the writer thread; their rows are dispatched as each answer arrives.
        await Promise.allSettled([...claiming.values()]);
      } catch (error) {
        log.error("delivery pass failed", { error: String(error) });
      }
      const started = startedTotal - before;
      if (!running) break;
      // Let the started requests and incoming traffic progress before the next claim.
      if (started > 0) await new Promise((r) => setImmediate(r));
      else await sleep(await sleepBudget());
    }
  };

  return {
    start(): void {
      if (running) return;
      running = true;
      // Leases left by this process's previous life go back before the first claim.
      loop = store.releaseLeasesAtStart().then(run, (error) => {
        log.error("lease release at start failed", { error: String(error) });
        return run();
      });
    },

    /** Stops claiming, then waits up to `graceMs` for in-flight attempts; unfinished leases return to pending on the next start. */
    async stop(graceMs = 10_000): Promise<void> {
      running = false;
      stopping = true;
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = null;
      wake();
      await loop;
      loop = null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...active]),
        new Promise((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
      await Promise.allSettled([...claiming.values()]);
      await flushSettlements();
      await releaseAllQueued();
      stopping = false;
    },

    wake,

    /** Takes in the pause and circuit changes other instances shared (the loop does so every second). */
    syncShared: takeInShared,

    /** Claims everything due now, sends it and settles it; for tests and one-shot draining. */
    async runOnce(): Promise<number> {
      const before = startedTotal;
      for (;;) {
        const startedBefore = startedTotal;
        pass();
        // Answered claims dispatch their rows as they arrive; a fast attempt may be over before the last claim is.
        await Promise.allSettled([...claiming.values()]);
        while (active.size > 0) await Promise.allSettled([...active]);
        await flushSettlements();
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
      setCircuit(name, circuit.pause(circuitOf(name)));
      return circuit.stateOf(circuitOf(name));
    },

    /** Lifts a pause and closes an open circuit: the destination's due deliveries go out at once. */
    resume(name: string): circuit.CircuitState {
      setCircuit(name, circuit.resume(circuitOf(name)));
      wake();
      return circuit.stateOf(circuitOf(name));
    },
  };
}

function logSettlement(log: Logger, s: Settlement, dest: DestinationConfig, d: ClaimedDelivery): void {
  const fields = {
    delivery: s.deliveryId,
    event: d.eventId ?? undefined,
    digest: d.digestId ?? undefined,
    attempt: d.attempts + 1,
    destination: dest.name,
    status: s.attempt.statusCode,
    ms: s.attempt.durationMs,
  };
  if (s.outcome === "delivered") log.info("delivered", fields);
  else if (s.outcome === "retry") log.warn("attempt failed", { ...fields, error: s.error, nextAttemptAt: new Date(s.nextAttemptAt).toISOString() });
  else log.error("delivery dead", { ...fields, error: s.error });
}
