export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export type RateLimiter = ReturnType<typeof createRateLimiter>;

const MINUTE_MS = 60_000;

/**
 * Per-key token buckets in memory: a bucket holds up to `limitPerMinute` tokens and refills
 * continuously at that rate, so a full minute's burst is allowed and then one request per 60/N s.
 * Time comes in as `now`; nothing here reads a clock.
 */
export function createRateLimiter() {
  // Counted in token-milliseconds (one token = MINUTE_MS units) so refills stay exact integers.
  const buckets = new Map<string, { units: number; at: number }>();

  return {
    take(keyId: string, limitPerMinute: number, now: number): RateDecision {
      const capacity = limitPerMinute * MINUTE_MS;
      let bucket = buckets.get(keyId);
      if (!bucket) {
        bucket = { units: capacity, at: now };
        buckets.set(keyId, bucket);
      }
      bucket.units = Math.min(capacity, bucket.units + Math.max(0, now - bucket.at) * limitPerMinute);
      bucket.at = Math.max(bucket.at, now);
      if (bucket.units >= MINUTE_MS) {
        bucket.units -= MINUTE_MS;
        return { allowed: true };
      }
      const waitMs = (MINUTE_MS - bucket.units) / limitPerMinute;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    },
  };
}
