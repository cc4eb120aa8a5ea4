import { expect, test } from "bun:test";
import { createRateLimiter } from "../../src/auth/rate-limit.ts";

const T = Date.UTC(2026, 4, 5, 12, 0, 0);

test("a full minute's allowance, then Retry-After until a token has refilled", () => {
  const limiter = createRateLimiter();
  for (let i = 0; i < 3; i++) expect(limiter.take("k", 3, T)).toEqual({ allowed: true });
  // 3 per minute refill one token every 20 s.
  expect(limiter.take("k", 3, T)).toEqual({ allowed: false, retryAfterSeconds: 20 });
  expect(limiter.take("k", 3, T + 5_000)).toEqual({ allowed: false, retryAfterSeconds: 15 });
  expect(limiter.take("k", 3, T + 19_999)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  expect(limiter.take("k", 3, T + 20_000)).toEqual({ allowed: true });
  expect(limiter.take("k", 3, T + 20_000).allowed).toBe(false);
});

test("after a whole window the key may burst again, but never beyond its limit", () => {
  const limiter = createRateLimiter();
  for (let i = 0; i < 5; i++) expect(limiter.take("k", 5, T).allowed).toBe(true);
  expect(limiter.take("k", 5, T).allowed).toBe(false);
  const later = T + 10 * 60_000;
  for (let i = 0; i < 5; i++) expect(limiter.take("k", 5, later).allowed).toBe(true);
  expect(limiter.take("k", 5, later).allowed).toBe(false);
});

test("keys are limited independently", () => {
  const limiter = createRateLimiter();
  expect(limiter.take("a", 1, T).allowed).toBe(true);
  expect(limiter.take("a", 1, T)).toEqual({ allowed: false, retryAfterSeconds: 60 });
  expect(limiter.take("b", 1, T).allowed).toBe(true);
});

test("Retry-After is honest: waiting exactly that long is enough", () => {
  const limiter = createRateLimiter();
  let now = T;
  for (let i = 0; i < 7; i++) limiter.take("k", 7, now);
  for (let round = 0; round < 20; round++) {
    const denied = limiter.take("k", 7, now);
    expect(denied.allowed).toBe(false);
    if (denied.allowed) return;
    now += denied.retryAfterSeconds * 1000;
    expect(limiter.take("k", 7, now).allowed).toBe(true);
  }
});
