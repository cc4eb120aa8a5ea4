// Route conditions compare JSON values: the former hand-written deepEqual against node:util's isDeepStrictEqual.
// Run: bun bench/experiments/deep-equal.ts. Measured (2-core shared machine, ns per compare, hand / util / jsonEqual):
// equal strings 31 / 45 / 22, different strings 31 / 140 / 15, two equal objects 288 / 1916 / 860. A route condition
// costs well under a microsecond either way; the library call, behind an === for primitives, is the simpler code.
import { isDeepStrictEqual } from "node:util";

function handWritten(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => handWritten(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && handWritten((a as Record<string, unknown>)[k], rb[k]));
}

const cases: Array<[string, unknown, unknown]> = [
  ["string, equal", "order.created", "order.created"],
  ["string, different", "order.created", "order.updated"],
  ["number vs string", 42, "42"],
  ["object, equal", JSON.parse('{"a":1,"b":[1,2,{"c":"x"}]}'), JSON.parse('{"b":[1,2,{"c":"x"}],"a":1}')],
];
const N = 2_000_000;
for (const [name, a, b] of cases) {
  for (const [label, fn] of [["hand-written", handWritten], ["isDeepStrictEqual", isDeepStrictEqual]] as const) {
    let hits = 0;
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < N; i++) if (fn(a, b)) hits++;
    const ns = (Bun.nanoseconds() - t0) / N;
    console.log(`${name.padEnd(18)} ${label.padEnd(18)} ${ns.toFixed(1)} ns/compare (${hits > 0})`);
  }
}

// What routing/match.ts uses: primitives by ===, only two objects go to isDeepStrictEqual.
const jsonEqual = (a: unknown, b: unknown) =>
  a === b || (typeof a === "object" && typeof b === "object" && a !== null && b !== null && isDeepStrictEqual(a, b));
for (const [name, a, b] of cases) {
  let hits = 0;
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < N; i++) if (jsonEqual(a, b)) hits++;
  console.log(`${name.padEnd(18)} ${"jsonEqual".padEnd(18)} ${((Bun.nanoseconds() - t0) / N).toFixed(1)} ns/compare (${hits > 0})`);
}
