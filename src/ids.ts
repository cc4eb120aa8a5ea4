import { randomBytes } from "node:crypto";

// Crockford base32: ids sort by creation time as plain strings.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
// Ten base-32 characters of milliseconds: up to about the year 36,800.
const MAX_TIME = 32 ** 10 - 1;

// Under load many ids share a millisecond: its ten time characters are encoded once, and the random part is
// kept as sixteen base-32 digits that are incremented in place (ids within one millisecond keep their order).
let lastTime = -1;
let timePart = "";
const digits = new Uint8Array(16);
// Random bytes are drawn 4 KB at a time; `& 31` keeps them uniform because 256 is a multiple of 32.
const pool = new Uint8Array(4096);
let poolAt = pool.length;

/** `prefix_` + 10 time chars + 16 random chars; monotonic within one millisecond. */
export function newId(prefix: string, now: number = Date.now()): string {
  if (now === lastTime) {
    increment(digits);
  } else {
    lastTime = now;
    timePart = encodeTime(now);
    for (let i = 0; i < digits.length; i++) {
      if (poolAt === pool.length) {
        crypto.getRandomValues(pool);
        poolAt = 0;
      }
      digits[i] = pool[poolAt++] & 31;
    }
  }
  let random = "";
  for (let i = 0; i < digits.length; i++) random += ALPHABET[digits[i]];
  return `${prefix}_${timePart}${random}`;
}

/**
 * The lowest id `prefix` can have at time `ms`: every id made at `ms` sorts at or above it, every id made earlier
 * below. Ids carry their creation time, so a time range over them is a range of the primary key.
 */
export function idFloor(prefix: string, ms: number): string {
  return `${prefix}_${encodeTime(Math.min(Math.max(Math.floor(ms), 0), MAX_TIME))}`;
}

/** A random URL-safe token of `bytes` bytes (≥ 16 gives ≥ 128 bits). */
export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString("base64url");
}

function increment(base32: Uint8Array): void {
  for (let i = base32.length - 1; i >= 0; i--) {
    if (base32[i] < 31) {
      base32[i]++;
      return;
    }
    base32[i] = 0;
  }
}

function encodeTime(ms: number): string {
  let time = "";
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}
