// A strict reader of the Prometheus text exposition format 0.0.4: it throws on anything a
// Prometheus server would reject, so a passing parse proves the /metrics output is valid.

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  let current: Family | null = null;
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      let family = families.get(name);
      if (!family) {
        family = { name, type: "untyped", help: "", samples: [] };
        families.set(name, family);
      } else if (family !== current) {
        throw new Error(`metric family ${name} is split, ${where}`);
      }
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`unknown type, ${where}`);
        if (family.samples.length > 0) throw new Error(`TYPE after samples, ${where}`);
        family.type = rest as MetricType;
      } else {
        family.help = unescapeHelp(rest, where);
      }
      current = family;
      return;
    }
    const sample = parseSample(line, where);
    const family = current as Family | null;
    if (!family || !belongsTo(sample.name, family)) throw new Error(`sample outside its family, ${where}`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`duplicate series, ${where}`);
    seenSeries.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);
  return families;
}

function belongsTo(sample: string, family: Family): boolean {
  if (family.type === "histogram") return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`].includes(sample);
  if (family.type === "summary") return [family.name, `${family.name}_sum`, `${family.name}_count`].includes(sample);
  return sample === family.name;
}

function parseSample(line: string, where: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!m) throw new Error(`bad sample name, ${where}`);
  const name = m[1];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === "{") {
    pos++;
    while (line[pos] !== "}") {
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(pos));
      if (!lm || !LABEL_NAME.test(lm[1])) throw new Error(`bad label, ${where}`);
      pos += lm[0].length;
      let value = "";
      for (;;) {
        const ch = line[pos];
        if (ch === undefined) throw new Error(`unterminated label value, ${where}`);
        if (ch === '"') break;
        if (ch === "\\") {
          const next = line[pos + 1];
          if (next === "\\") value += "\\";
          else if (next === '"') value += '"';
          else if (next === "n") value += "\n";
          else throw new Error(`bad escape in label value, ${where}`);
          pos += 2;
          continue;
        }
        value += ch;
        pos++;
      }
      pos++;
      if (Object.hasOwn(labels, lm[1])) throw new Error(`repeated label, ${where}`);
      labels[lm[1]] = value;
      if (line[pos] === ",") pos++;
      else if (line[pos] !== "}") throw new Error(`expected , or }, ${where}`);
    }
    pos++;
  }
  const rest = line.slice(pos);
  const vm = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!vm) throw new Error(`bad value part, ${where}`);
  return { name, labels, value: parseValue(vm[1], where) };
}

function parseValue(text: string, where: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad number, ${where}`);
  return Number(text);
}

function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`bad escape in HELP, ${where}`);
  });
}

/** Buckets rise with le, never fall, end at +Inf, and +Inf equals _count, per label set. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      g.buckets.push([parseValue(le, `le of ${family.name}`), s.value]);
    } else if (s.name.endsWith("_count")) g.count = s.value;
    else g.sum = s.value;
  }
  for (const [key, g] of groups) {
    if (g.count === undefined || g.sum === undefined) throw new Error(`${family.name}${key}: missing _count or _sum`);
    const last = g.buckets.at(-1);
    if (!last || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}${key}: no +Inf bucket`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i][0] > g.buckets[i - 1][0])) throw new Error(`${family.name}${key}: le not increasing`);
      if (g.buckets[i][1] < g.buckets[i - 1][1]) throw new Error(`${family.name}${key}: bucket counts decrease`);
    }
    if (last[1] !== g.count) throw new Error(`${family.name}${key}: +Inf bucket ${last[1]} differs from _count ${g.count}`);
  }
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when absent. */
export function valueOf(families: Map<string, Family>, family: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const matches = (families.get(family)?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matches.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${matches.length} samples`);
  return matches[0]?.value;
}
