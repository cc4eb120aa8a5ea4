import { expect, test } from "bun:test";
import { idFloor, newId, randomToken } from "../src/ids.ts";

const SHAPE = /^evt_[0-9A-HJKMNP-TV-Z]{10}[0-9A-HJKMNP-TV-Z]{16}$/;
const T = Date.UTC(2026, 10, 23, 12, 0, 0);

test("prefix, ten time characters, sixteen random ones, all Crockford base 32", () => {
  for (let i = 0; i < 1000; i++) expect(newId("evt", T + (i % 3))).toMatch(SHAPE);
});

test("ids of one millisecond keep their order and never repeat", () => {
  const ids = Array.from({ length: 10_000 }, () => newId("dlv", T));
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(ids);
});

test("the time part sorts as the time does, whatever the random part", () => {
  const times = [0, 1, 31, 32, 1_000, 2 ** 40, T - 1, T, T + 1, 2 ** 45];
  const ids = times.map((t) => newId("evt", t));
  expect([...ids].sort()).toEqual(ids);
  // The same time, met again later, gives the same ten characters.
  expect(newId("evt", T).slice(4, 14)).toBe(ids[7].slice(4, 14));
});

test("a new millisecond draws a new random part", () => {
  const a = newId("evt", T + 10).slice(14);
  const b = newId("evt", T + 11).slice(14);
  const c = newId("evt", T + 12).slice(14);
  // Increments would differ only at the end; fresh draws differ almost surely in the first characters.
  expect(new Set([a.slice(0, 8), b.slice(0, 8), c.slice(0, 8)]).size).toBeGreaterThan(1);
});

test("tokens are URL-safe and as long as their bytes ask", () => {
  expect(randomToken()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(randomToken(32)).toMatch(/^[A-Za-z0-9_-]{43}$/);
});

test("idFloor bounds the ids of its millisecond: at or above it, and below the next one's", () => {
  for (const t of [0, 1, 999, T - 1, T, T + 1, 2 ** 45]) {
    for (let i = 0; i < 50; i++) {
      const id = newId("evt", t);
      expect(id >= idFloor("evt", t)).toBe(true);
      expect(id < idFloor("evt", t + 1)).toBe(true);
      expect(newId("evt", t + 1) >= idFloor("evt", t + 1)).toBe(true);
    }
  }
  // Times outside what ids can hold are clamped, not mis-encoded.
  expect(idFloor("evt", -5)).toBe(idFloor("evt", 0));
  expect(idFloor("evt", 1e20)).toBe(`evt_${"Z".repeat(10)}`);
});
