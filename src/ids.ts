import { randomBytes } from "node:crypto";

// Crockford base32: ids sort by creation time as plain strings.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastTime = 0;
let lastRandom: Uint8Array = new Uint8Array(10);

/** `prefix_` + 10 time chars + 16 random chars; monotonic within one millisecond. */
export function newId(prefix: string, now: number = Date.now()): string {
  let rand: Uint8Array;
  if (now === lastTime) {
    rand = increment(lastRandom);
  } else {
    rand = new Uint8Array(randomBytes(10));
    lastTime = now;
  }
  lastRandom = rand;
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `${prefix}_${time}${encodeBase32(rand)}`;
}

/** A random URL-safe token of `bytes` bytes (≥ 16 gives ≥ 128 bits). */
export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString("base64url");
}

function increment(bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i] < 255) {
      next[i]++;
      return next;
    }
    next[i] = 0;
  }
  return next;
}

function encodeBase32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}
