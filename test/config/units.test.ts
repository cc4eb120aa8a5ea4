import { describe, expect, test } from "bun:test";
import { parseDuration, parseSize } from "../../src/config/units.ts";

describe("parseDuration", () => {
  test.each([
    ["250ms", 250],
    ["10s", 10_000],
    ["1m", 60_000],
    ["1.5h", 5_400_000],
    ["30d", 2_592_000_000],
    ["0.5s", 500],
    [".5s", 500],
    ["1h30m", 5_400_000],
    ["1h 30m", 5_400_000],
    [" 2m ", 120_000],
    ["0s", 0],
  ] as const)("%p → %p ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each([
    ["10", 'duration "10" needs a unit: ms, s, m, h or d (did you mean "10s"?)'],
    [10, 'duration 10 needs a unit: ms, s, m, h or d (did you mean "10s"?)'],
    [1500, 'duration 1500 needs a unit: ms, s, m, h or d (did you mean "1500s"?)'],
    ["10x", 'invalid duration "10x": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"'],
    ["10S", 'invalid duration "10S": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"'],
    ["-1s", 'invalid duration "-1s": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"'],
    ["s", 'invalid duration "s": use a number and a unit (ms, s, m, h, d), e.g. "10s" or "1.5h"'],
    ["", 'empty duration: use a number and a unit, e.g. "10s"'],
    [-5, 'invalid duration -5: use a number and a unit (ms, s, m, h, d), e.g. "10s"'],
    [Number.NaN, 'invalid duration NaN: use a number and a unit (ms, s, m, h, d), e.g. "10s"'],
  ] as const)("%p is refused", (input, message) => {
    expect(parseDuration(input)).toBe(message);
  });
});

describe("parseSize", () => {
  test.each([
    ["512b", 512],
    ["100kb", 102_400],
    ["1mb", 1_048_576],
    ["1gb", 1_073_741_824],
    ["1.5KB", 1536],
    ["2 MB", 2_097_152],
    [2048, 2048],
    [0, 0],
  ] as const)("%p → %p bytes", (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  test.each([
    ["100", 'size "100" needs a unit: b, kb, mb or gb (e.g. "100kb")'],
    ["10k", 'invalid size "10k": use a number and a unit (b, kb, mb, gb), e.g. "100kb"'],
    ["1tb", 'invalid size "1tb": use a number and a unit (b, kb, mb, gb), e.g. "100kb"'],
    ["", 'empty size: use a number and a unit, e.g. "100kb"'],
    [-1, "invalid size -1: must be a whole, non-negative number of bytes"],
    [1.5, "invalid size 1.5: must be a whole, non-negative number of bytes"],
  ] as const)("%p is refused", (input, message) => {
    expect(parseSize(input)).toBe(message);
  });
});
