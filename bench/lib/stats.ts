// Small numeric helpers shared by the load generator, the receiver and the report.

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of latencies in milliseconds (sorts a copy). */
export function summarize(values: ArrayLike<number>, n = values.length): LatencySummary {
  if (n === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from({ length: n }, (_, i) => values[i]).sort();
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  return { n, p50: at(50), p90: at(90), p99: at(99), max: sorted[n - 1] };
}

/** A growable Float64Array that never holds more than `cap` values (a bound on memory). */
export class Samples {
  private data: Float64Array;
  length = 0;
  dropped = 0;
  constructor(private readonly cap = 5_000_000, initial = 65_536) {
    this.data = new Float64Array(Math.min(initial, cap));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      if (this.length >= this.cap) {
        this.dropped++;
        return;
      }
      const next = new Float64Array(Math.min(this.cap, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  summary(): LatencySummary {
    return summarize(this.data, this.length);
  }
  clear(): void {
    this.length = 0;
    this.dropped = 0;
  }
}

/** Wall clock in milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
