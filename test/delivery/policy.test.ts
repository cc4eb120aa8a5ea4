import { describe, expect, test } from "bun:test";
import type { AckContract, RetryPolicy } from "../../src/config/types.ts";
import { DEFAULT_RETRY } from "../../src/config/defaults.ts";
import { isAcknowledged, maxAttempts, nextAttemptAt, parseRetryAfter } from "../../src/delivery/policy.ts";

const any2xx: AckContract = { statuses: [[200, 299]] };
const exact: AckContract = { statuses: [[200, 299]], bodies: ['{"status":"success"}', '{"status":"Success: test request received"}'] };

describe("isAcknowledged", () => {
  test.each([
    [any2xx, 200, "", true],
    [any2xx, 204, "", true],
    [any2xx, 299, "whatever", true],
    [any2xx, 300, "", false],
    [any2xx, 199, "", false],
    [any2xx, 500, '{"status":"success"}', false],
    [exact, 200, '{"status":"success"}', true],
    [exact, 200, '{"status":"Success: test request received"}', true],
    [exact, 200, '{"status":"Success"}', false],
    [exact, 200, '{"status":"success"} ', false],
    [exact, 200, '{"status": "success"}', false],
    [exact, 200, "", false],
    [exact, 201, '{"status":"success"}', true],
    [exact, 302, '{"status":"success"}', false],
    [{ statuses: [[200, 200]] } as AckContract, 201, "", false],
  ] as const)("%j status %d body %j → %p", (ack, status, body, expected) => {
    expect(isAcknowledged(ack, status, body).acknowledged).toBe(expected);
  });

  test("a wrong body is explained", () => {
    const v = isAcknowledged(exact, 200, '{"status":"Success"}');
    expect(v).toEqual({ acknowledged: false, reason: expect.stringContaining('{\\"status\\":\\"Success\\"}') });
  });
});

describe("nextAttemptAt", () => {
  const t = 1_700_000_000_000;
  const crm: RetryPolicy = { kind: "schedule", delaysMs: [60_000, 180_000] };

  test("an explicit schedule: one and three minutes after each failure, then exhausted", () => {
    expect(maxAttempts(crm)).toBe(3);
    expect(nextAttemptAt(crm, 1, t)).toBe(t + 60_000);
    expect(nextAttemptAt(crm, 2, t)).toBe(t + 180_000);
    expect(nextAttemptAt(crm, 3, t)).toBeNull();
  });

  test("the default schedule has eight attempts", () => {
    expect(maxAttempts(DEFAULT_RETRY)).toBe(8);
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => nextAttemptAt(DEFAULT_RETRY, n, t)! - t);
    expect(delays).toEqual([5_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000]);
    expect(nextAttemptAt(DEFAULT_RETRY, 8, t)).toBeNull();
  });

  test("exponential backoff doubles up to the cap; jitter draws below it", () => {
    const exp: RetryPolicy = { kind: "exponential", attempts: 6, baseMs: 1000, maxMs: 5000, jitter: false };
    expect([1, 2, 3, 4, 5].map((n) => nextAttemptAt(exp, n, t)! - t)).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(nextAttemptAt(exp, 6, t)).toBeNull();
    const jittered: RetryPolicy = { ...exp, jitter: true };
    expect(nextAttemptAt(jittered, 3, t, null, () => 0.5)! - t).toBe(2000);
    expect(nextAttemptAt(jittered, 3, t, null, () => 0)! - t).toBe(0);
  });

  test("Retry-After is a floor, never a shortcut", () => {
    expect(nextAttemptAt(crm, 1, t, 120_000)).toBe(t + 120_000);
    expect(nextAttemptAt(crm, 1, t, 1_000)).toBe(t + 60_000);
    expect(nextAttemptAt(crm, 1, t, 10 * 24 * 3600_000)).toBe(t + 24 * 3600_000);
    expect(nextAttemptAt(crm, 3, t, 1_000)).toBeNull();
  });
});

describe("parseRetryAfter", () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  test.each([
    ["120", 120_000],
    ["0", 0],
    [" 7 ", 7_000],
    ["Mon, 23 Nov 2026 12:01:30 GMT", 90_000],
    ["Mon, 23 Nov 2026 11:00:00 GMT", 0],
    ["soon", null],
    ["", null],
    [null, null],
  ] as const)("%p → %p", (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
});
