import { expect, test } from "bun:test";
import { labelledCounter, labelledHistogram, renderExposition } from "../../src/ops/exposition.ts";
import { parsePrometheusText, valueOf } from "./prom-text.ts";

test("counters per label set, with label values escaped", () => {
  const c = labelledCounter(["source", "outcome"]);
  c.inc(["shop", "accepted"]);
  c.inc(["shop", "accepted"]);
  c.inc(['we"ird\\one\nline', "rejected"], 3);
  const text = renderExposition([{ type: "counter", name: "x_total", help: "Things,\nper line.", samples: c.samples() }]);
  const m = parsePrometheusText(text);
  expect(m.get("x_total")?.type).toBe("counter");
  expect(m.get("x_total")?.help).toBe("Things,\nper line.");
  expect(valueOf(m, "x_total", "x_total", { source: "shop", outcome: "accepted" })).toBe(2);
  expect(valueOf(m, "x_total", "x_total", { source: 'we"ird\\one\nline', outcome: "rejected" })).toBe(3);
});

test("histogram buckets are cumulative, an upper bound includes its own value, +Inf counts everything", () => {
  const h = labelledHistogram("destination", [0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 1, 7]) h.observe("crm", v);
  h.observe("chat", 0.2);
  const m = parsePrometheusText(renderExposition([{ type: "histogram", name: "d_seconds", help: "D.", buckets: h.buckets, series: h.series() }]));
  const bucket = (destination: string, le: string) => valueOf(m, "d_seconds", "d_seconds_bucket", { destination, le });
  expect([bucket("crm", "0.1"), bucket("crm", "1"), bucket("crm", "+Inf")]).toEqual([2, 4, 5]);
  expect(valueOf(m, "d_seconds", "d_seconds_count", { destination: "crm" })).toBe(5);
  expect(valueOf(m, "d_seconds", "d_seconds_sum", { destination: "crm" })).toBeCloseTo(8.65);
  expect([bucket("chat", "0.1"), bucket("chat", "1"), bucket("chat", "+Inf")]).toEqual([0, 1, 1]);
});

test("a family with no samples still says what it is; nothing at all is an empty text", () => {
  const m = parsePrometheusText(renderExposition([{ type: "gauge", name: "g", help: "G.", samples: [] }]));
  expect(m.get("g")).toMatchObject({ type: "gauge", samples: [] });
  expect(renderExposition([])).toBe("");
});
