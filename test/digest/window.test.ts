import { describe, expect, test } from "bun:test";
import { missedTicks, nextTick, previousTick } from "../../src/digest/window.ts";

/** The window `at` falls in, as the scheduler derives it: the first tick at or after `at` ends it, the tick before starts it. */
function windowFor(cron: string, timezone: string, at: number): { start: number; end: number } | null {
  const end = nextTick(cron, timezone, at - 1);
  if (end === null) return null;
  const start = previousTick(cron, timezone, end - 1);
  return start === null ? null : { start, end };
}

const BERLIN = "Europe/Berlin";
const H = 3_600_000;
const utc = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Local date and time of an instant in a timezone, e.g. "2026-03-29 03:00". */
function local(ms: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

function ticksBetween(cron: string, tz: string, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = nextTick(cron, tz, from); t !== null && t <= to; t = nextTick(cron, tz, t)) out.push(t);
  return out;
}

describe("ticks across Europe/Berlin's DST changes", () => {
  test('"0 6 * * *" fires once per local day at 06:00 through spring-forward (29 March 2026)', () => {
    const ticks = ticksBetween("0 6 * * *", BERLIN, utc("2026-03-27T00:00:00Z"), utc("2026-03-31T00:00:00Z"));
    expect(ticks.map(iso)).toEqual([
      "2026-03-27T05:00:00.000Z",
      "2026-03-28T05:00:00.000Z",
      "2026-03-29T04:00:00.000Z",
      "2026-03-30T04:00:00.000Z",
    ]);
    expect(ticks.map((t) => local(t, BERLIN))).toEqual(["2026-03-27 06:00", "2026-03-28 06:00", "2026-03-29 06:00", "2026-03-30 06:00"]);
  });

  test('"0 6 * * *" fires once per local day at 06:00 through fall-back (25 October 2026)', () => {
    const ticks = ticksBetween("0 6 * * *", BERLIN, utc("2026-10-23T00:00:00Z"), utc("2026-10-27T00:00:00Z"));
    expect(ticks.map(iso)).toEqual([
      "2026-10-23T04:00:00.000Z",
      "2026-10-24T04:00:00.000Z",
      "2026-10-25T05:00:00.000Z",
      "2026-10-26T05:00:00.000Z",
    ]);
  });

  test('"30 2 * * *" on spring-forward day: 02:30 does not exist, it fires once at 03:00 CEST', () => {
    const day = ticksBetween("30 2 * * *", BERLIN, utc("2026-03-28T23:00:00Z"), utc("2026-03-29T21:59:59Z"));
    expect(day.map(iso)).toEqual(["2026-03-29T01:00:00.000Z"]);
    expect(local(day[0], BERLIN)).toBe("2026-03-29 03:00");
    // The neighbours are untouched: 02:30 CET the day before, 02:30 CEST the day after.
    expect(iso(previousTick("30 2 * * *", BERLIN, day[0] - 1))).toBe("2026-03-28T01:30:00.000Z");
    expect(iso(nextTick("30 2 * * *", BERLIN, day[0]))).toBe("2026-03-30T00:30:00.000Z");
  });

  test('"30 2 * * *" on fall-back day: 02:30 happens twice, it fires once (the first, CEST)', () => {
    const day = ticksBetween("30 2 * * *", BERLIN, utc("2026-10-24T22:00:00Z"), utc("2026-10-25T22:59:59Z"));
    expect(day.map(iso)).toEqual(["2026-10-25T00:30:00.000Z"]);
    // The repeated 02:30 (CET, 01:30Z) is not a tick.
    expect(iso(nextTick("30 2 * * *", BERLIN, utc("2026-10-25T00:30:00Z")))).toBe("2026-10-26T01:30:00.000Z");
    expect(iso(previousTick("30 2 * * *", BERLIN, utc("2026-10-25T01:30:00Z")))).toBe("2026-10-25T00:30:00.000Z");
  });

  test("over a whole year both expressions fire exactly once on every local day", () => {
    for (const cron of ["0 6 * * *", "30 2 * * *"]) {
      const ticks = ticksBetween(cron, BERLIN, utc("2025-12-31T23:00:00Z") - 1, utc("2026-12-31T22:59:59Z"));
      const days = ticks.map((t) => local(t, BERLIN).slice(0, 10));
      expect(ticks).toHaveLength(365);
      expect(new Set(days).size).toBe(365);
      expect(days[0]).toBe("2026-01-01");
      expect(days[364]).toBe("2026-12-31");
    }
  });

  test("previousTick walks back over the DST days the same way nextTick walks forward", () => {
    for (const cron of ["0 6 * * *", "30 2 * * *"]) {
      const forward = ticksBetween(cron, BERLIN, utc("2026-03-20T00:00:00Z"), utc("2026-11-05T00:00:00Z"));
      const backward: number[] = [];
      for (let t = previousTick(cron, BERLIN, utc("2026-11-05T00:00:00Z")); t !== null && t > utc("2026-03-20T00:00:00Z"); t = previousTick(cron, BERLIN, t - 1)) {
        backward.push(t);
      }
      expect(backward.reverse()).toEqual(forward);
    }
  });
});

describe("windows", () => {
  const cron = "0 6 * * *";

  test("a window is (previous tick, tick]: the tick instant itself belongs to the window it ends", () => {
    const tick = utc("2026-03-30T04:00:00Z");
    expect(windowFor(cron, BERLIN, tick)).toEqual({ start: utc("2026-03-29T04:00:00Z"), end: tick });
    expect(windowFor(cron, BERLIN, tick + 1)).toEqual({ start: tick, end: utc("2026-03-31T04:00:00Z") });
    expect(windowFor(cron, BERLIN, utc("2026-03-29T04:00:00Z") + 1)).toEqual({ start: utc("2026-03-29T04:00:00Z"), end: tick });
  });

  test("the spring-forward window is 23 hours long and the fall-back window 25", () => {
    const spring = windowFor(cron, BERLIN, utc("2026-03-29T00:00:00Z"))!;
    expect([iso(spring.start), iso(spring.end)]).toEqual(["2026-03-28T05:00:00.000Z", "2026-03-29T04:00:00.000Z"]);
    expect(spring.end - spring.start).toBe(23 * H);
    const fall = windowFor(cron, BERLIN, utc("2026-10-25T00:00:00Z"))!;
    expect([iso(fall.start), iso(fall.end)]).toEqual(["2026-10-24T04:00:00.000Z", "2026-10-25T05:00:00.000Z"]);
    expect(fall.end - fall.start).toBe(25 * H);
    const spring230 = windowFor("30 2 * * *", BERLIN, utc("2026-03-29T00:59:00Z"))!;
    expect(spring230.end - spring230.start).toBe(23.5 * H);
    const fall230 = windowFor("30 2 * * *", BERLIN, utc("2026-10-25T00:00:00Z"))!;
    expect(fall230.end - fall230.start).toBe(24 * H);
    expect(windowFor("30 2 * * *", BERLIN, utc("2026-10-25T01:00:00Z"))!.end - utc("2026-10-25T00:30:00Z")).toBe(25 * H);
  });

  test("UTC control: the same expression gives 24-hour windows on both DST days", () => {
    for (const day of ["2026-03-29", "2026-10-25"]) {
      const w = windowFor(cron, "UTC", utc(`${day}T03:00:00Z`))!;
      expect(iso(w.end)).toBe(`${day}T06:00:00.000Z`);
      expect(w.end - w.start).toBe(24 * H);
    }
    expect(iso(previousTick(cron, "UTC", utc("2026-10-25T06:00:00Z")))).toBe("2026-10-25T06:00:00.000Z");
    expect(iso(previousTick(cron, "UTC", utc("2026-10-25T05:59:59.999Z")))).toBe("2026-10-24T06:00:00.000Z");
  });
});

describe("missedTicks", () => {
  const cron = "0 6 * * *";

  test("lists the ticks after the last closed one up to now, oldest first, across the DST change", () => {
    const missed = missedTicks(cron, BERLIN, utc("2026-03-27T05:00:00Z"), utc("2026-03-30T04:00:00Z"));
    expect(missed.map(iso)).toEqual(["2026-03-28T05:00:00.000Z", "2026-03-29T04:00:00.000Z", "2026-03-30T04:00:00.000Z"]);
  });

  test("nothing when the latest tick is already closed, one when nothing was ever closed", () => {
    expect(missedTicks(cron, BERLIN, utc("2026-03-30T04:00:00Z"), utc("2026-03-31T03:59:59Z"))).toEqual([]);
    expect(missedTicks(cron, BERLIN, null, utc("2026-03-31T03:59:59Z")).map(iso)).toEqual(["2026-03-30T04:00:00.000Z"]);
    // A window closed by hand (not on a tick) counts as closed up to its end.
    expect(missedTicks(cron, BERLIN, utc("2026-03-30T09:00:00Z"), utc("2026-03-31T04:00:00Z")).map(iso)).toEqual(["2026-03-31T04:00:00.000Z"]);
  });

  test("a long outage keeps only the latest `limit` ticks", () => {
    const missed = missedTicks(cron, "UTC", utc("2026-01-01T06:00:00Z"), utc("2026-03-01T07:00:00Z"), 3);
    expect(missed.map(iso)).toEqual(["2026-02-27T06:00:00.000Z", "2026-02-28T06:00:00.000Z", "2026-03-01T06:00:00.000Z"]);
  });
});
