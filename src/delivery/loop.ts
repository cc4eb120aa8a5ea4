/** stopped ─start()─▶ starting ─▶ running ─stop()─▶ stopping ─drained─▶ stopped */
export type LoopState = "starting" | "running" | "stopping" | "stopped";

export interface LoopSteps {
  /** Work done once before the first pass (start-up recovery); the first pass waits for it. */
  starting(): void | Promise<void>;
  /** One pass; resolves once its claims are answered, with whether it started any work. */
  pass(): Promise<boolean>;
  /** How long the loop may sleep after a pass that started nothing (ms). */
  sleepBudget(): number | Promise<number>;
  onError(error: unknown): void;
}

/** Runs passes until stopped: at once after a pass that started work, else after a sleep that notify() cuts short. */
export class Loop {
  state: LoopState = "stopped";
  private running: Promise<void> | null = null;
  private notified = false;
  private cutSleep: (() => void) | null = null;
  private stopped: Promise<void> | null = null;

  constructor(private readonly steps: LoopSteps) {}

  start(): void {
    if (this.state !== "stopped") return;
    this.state = "starting";
    let started: void | Promise<void>;
    try {
      started = this.steps.starting();
    } catch (error) {
      started = Promise.reject(error);
    }
    this.running = this.run(Promise.resolve(started));
  }

  /** Wakes the loop: a sleeping loop passes at once, a busy one passes again without sleeping. */
  notify(): void {
    this.notified = true;
    this.cutSleep?.();
  }

  /** Stops passing, waits for the pass under way, then for `drain`; a loop never started drains too. */
  stop(drain: () => Promise<void>): Promise<void> {
    this.stopped ??= this.stopThenDrain(drain).finally(() => {
      this.stopped = null;
      this.state = "stopped";
    });
    return this.stopped;
  }

  private async stopThenDrain(drain: () => Promise<void>): Promise<void> {
    this.state = "stopping";
    this.notify();
    await this.running;
    this.running = null;
    await drain();
  }

  private async run(started: Promise<void>): Promise<void> {
    // A failed start-up step is reported; the passes run anyway (what it would have recovered, the sweeps do later).
    await started.catch((error) => this.steps.onError(error));
    if (this.state !== "starting") return;
    this.state = "running";
    while (this.state === "running") {
      let started = false;
      try {
        started = await this.steps.pass();
      } catch (error) {
        this.steps.onError(error);
      }
      if (this.state !== "running") break;
      // Let the started requests and incoming traffic progress before the next claim.
      if (started) await new Promise((r) => setImmediate(r));
      else await this.sleep(await this.steps.sleepBudget());
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.notified || ms <= 0) {
        this.notified = false;
        // Yield to I/O even when there is work at once, so the loop can never starve the server.
        setImmediate(resolve);
        return;
      }
      const done = () => {
        clearTimeout(timer);
        this.cutSleep = null;
        this.notified = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.cutSleep = done;
    });
  }
}
