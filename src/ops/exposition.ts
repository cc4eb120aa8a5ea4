// Prometheus text exposition format 0.0.4, written directly. Counting is a map increment on the hot paths
// (one per ingested event, one per attempt); the text is built only when /metrics is scraped.

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export type Family =
  | { type: "counter" | "gauge"; name: string; help: string; samples: Sample[] }
  | { type: "histogram"; name: string; help: string; buckets: readonly number[]; series: HistogramSeries[] };

export interface HistogramSeries {
  labels: Labels;
  /** Observations per bucket (not cumulative), one more than `buckets` for +Inf. */
  counts: number[];
  sum: number;
}

/** A counter per label set: `inc(["shop", "accepted"])`. */
export function labelledCounter(labelNames: readonly string[]) {
  const series = new Map<string, Sample>();
  return {
    inc(values: readonly string[], by = 1): void {
      const key = values.join("\u0000");
      const found = series.get(key);
      if (found) found.value += by;
      else series.set(key, { labels: Object.fromEntries(labelNames.map((n, i) => [n, values[i]])), value: by });
    },
    samples: (): Sample[] => [...series.values()],
  };
}

/** A histogram per value of one label, with fixed upper bounds. */
export function labelledHistogram(labelName: string, buckets: readonly number[]) {
  const series = new Map<string, HistogramSeries>();
  return {
    buckets,
    observe(labelValue: string, value: number): void {
      let s = series.get(labelValue);
      if (!s) series.set(labelValue, (s = { labels: { [labelName]: labelValue }, counts: new Array(buckets.length + 1).fill(0), sum: 0 }));
      let i = 0;
      while (i < buckets.length && value > buckets[i]) i++;
      s.counts[i]++;
      s.sum += value;
    },
    series: (): HistogramSeries[] => [...series.values()],
  };
}

/** The exposition text of `families`, in order; every family gets HELP and TYPE even with no samples. */
export function renderExposition(families: Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type !== "histogram") {
      for (const s of f.samples) lines.push(`${f.name}${labelText(s.labels)} ${number(s.value)}`);
      continue;
    }
    for (const s of f.series) {
      let cumulative = 0;
      f.buckets.forEach((upper, i) => {
        cumulative += s.counts[i];
        lines.push(`${f.name}_bucket${labelText({ ...s.labels, le: number(upper) })} ${cumulative}`);
      });
      cumulative += s.counts[f.buckets.length];
      lines.push(`${f.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${cumulative}`);
      lines.push(`${f.name}_sum${labelText(s.labels)} ${number(s.sum)}`, `${f.name}_count${labelText(s.labels)} ${cumulative}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function number(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : "-Inf";
  return String(n);
}
