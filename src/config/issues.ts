import type { ConfigIssue } from "../errors.ts";

// Key paths, source positions and the collector every config check reports into.

/** Keys (maps) and indexes (lists) from the document root, e.g. ["routes", 2, "to"]. */
export type Path = ReadonlyArray<string | number>;

export interface Position {
  line: number; // 1-based
  column: number; // 1-based
}

/** Which part of a mapping entry an issue points at; "parent" is the map holding a missing key. */
export type Anchor = "value" | "key" | "parent";

const PLAIN_KEY = /^[A-Za-z0-9_$-][A-Za-z0-9_$-]*$/;

/** `routes[2].to`, `destinations.crm.retry[1]`, `headers["Content.Type"]`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Where each key and value of the parsed document starts. */
export class SourceMap {
  private readonly values = new Map<string, Position>();
  private readonly keys = new Map<string, Position>();

  /** The first position recorded for a path wins, so an alias keeps the place it is used. */
  setValue(path: Path, at: Position): void {
    const k = formatPath(path);
    if (!this.values.has(k)) this.values.set(k, at);
  }

  setKey(path: Path, at: Position): void {
    const k = formatPath(path);
    if (!this.keys.has(k)) this.keys.set(k, at);
  }

  /** Position of the node at `path`, else of its nearest located ancestor. */
  value(path: Path): Position | undefined {
    for (let n = path.length; n >= 0; n--) {
      const at = this.values.get(formatPath(path.slice(0, n)));
      if (at) return at;
    }
    return undefined;
  }

  key(path: Path): Position | undefined {
    return this.keys.get(formatPath(path)) ?? this.value(path);
  }
}

interface Pending {
  phase: string;
  path: Path;
  message: string;
  at: Position | undefined;
  order: number;
}

/** Collects every problem of one file; nothing stops at the first. */
export class Issues {
  private readonly pending: Pending[] = [];
  /** Stamped on each issue, so a later check can ask whether, say, the schema rejected a part. */
  phase = "";

  constructor(
    readonly file: string,
    private readonly positions: SourceMap = new SourceMap(),
  ) {}

  add(path: Path, text: string, anchor: Anchor = "value"): void {
    const message = hideCredentials(text);
    const at =
      anchor === "key"
        ? this.positions.key(path)
        : anchor === "parent"
          ? this.positions.value(path.slice(0, -1))
          : this.positions.value(path);
    const shown = anchor === "parent" ? path.slice(0, -1) : path;
    if (this.pending.some((p) => p.message === message && formatPath(p.path) === formatPath(shown))) return;
    this.pending.push({ phase: this.phase, path: shown, message, at, order: this.pending.length });
  }

  /** Adds only when nothing was reported at this exact path yet (e.g. a missing ${VAR} already explains it). */
  addIfFirst(path: Path, message: string, anchor: Anchor = "value"): void {
    if (!this.has(path)) this.add(path, message, anchor);
  }

  /** True when an issue (of `phase`, when given) was reported at `path` or anywhere below it. */
  hasUnder(path: Path, phase?: string): boolean {
    return this.pending.some((p) => (phase === undefined || p.phase === phase) && path.every((segment, i) => p.path[i] === segment));
  }

  /** True when an issue (of `phase`, when given) was reported at exactly `path`. */
  has(path: Path, phase?: string): boolean {
    const k = formatPath(path);
    return this.pending.some((p) => (phase === undefined || p.phase === phase) && formatPath(p.path) === k);
  }

  get size(): number {
    return this.pending.length;
  }

  /** In file order, so the list reads top to bottom. */
  list(): ConfigIssue[] {
    return [...this.pending]
      .sort((a, b) => (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.column ?? 0) - (b.at?.column ?? 0) || a.order - b.order)
      .map((p) => ({
        file: this.file,
        line: p.at?.line ?? 0,
        column: p.at?.column ?? 0,
        path: formatPath(p.path),
        message: p.message,
      }));
  }
}

/** A message may echo a mistyped URL (`postgress://relay:pw@db`); its user and password never reach the output. */
export function hideCredentials(message: string): string {
  return message.replace(/\/\/[^\s/?#@"'`<>]+@/g, "//***@");
}

/** ` (did you mean "timeout"?)` when a candidate is close enough, else "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const best = closest(word, candidates);
  return best === undefined ? "" : ` (did you mean "${best}"?)`;
}

/** The candidate within a few edits of `word` (case ignored), nearest first; undefined when none is close. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const budget = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const d = editDistance(lower, candidate.toLowerCase());
    if (d <= budget && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbouring letters counted as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
