// Egress policy as data: which resolved addresses a delivery may connect to. Pure; every spelling of an address
// (IPv4 shorthand, decimal, octal, hex, IPv4-mapped/-compatible IPv6, NAT64) is reduced to one 128-bit number first.
import type { EgressPolicy } from "../config/types.ts";

export type EgressDecision = { allowed: true; address: string } | { allowed: false; address: string; reason: string };

interface Range {
  text: string;
  base: bigint;
  bits: number;
}

const V4_MAPPED = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;

/** Refused in every mode: link-local (cloud metadata), unspecified, multicast, broadcast and reserved. */
const ALWAYS_REFUSED: Array<[string, string]> = [
  ["169.254.0.0/16", "link-local"],
  ["fe80::/10", "link-local"],
  ["0.0.0.0/8", "unspecified"],
  ["::/128", "unspecified"],
  ["224.0.0.0/4", "multicast"],
  ["ff00::/8", "multicast"],
  ["240.0.0.0/4", "reserved or broadcast"],
];

/** Refused too in public-only mode. */
const NOT_PUBLIC: Array<[string, string]> = [
  ["127.0.0.0/8", "loopback"],
  ["::1/128", "loopback"],
  ["10.0.0.0/8", "private"],
  ["172.16.0.0/12", "private"],
  ["192.168.0.0/16", "private"],
  ["100.64.0.0/10", "shared address space"],
  ["192.0.0.0/24", "special-purpose"],
  ["192.0.2.0/24", "documentation"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["198.18.0.0/15", "benchmarking"],
  ["fc00::/7", "unique local"],
  ["fec0::/10", "site-local"],
  ["2001:db8::/32", "documentation"],
];

const always = ALWAYS_REFUSED.map(([cidr, why]) => ({ range: parseCidr(cidr)!, why }));
const notPublic = NOT_PUBLIC.map(([cidr, why]) => ({ range: parseCidr(cidr)!, why }));

/** Decisions already made per policy object (a config reload brings new objects); bounded per policy. */
const decided = new WeakMap<EgressPolicy, Map<string, EgressDecision>>();
const DECIDED_PER_POLICY = 1024;

/** The decision for one resolved address (any spelling); unparseable addresses are refused. */
export function decideEgress(policy: EgressPolicy, address: string): EgressDecision {
  // Pure and asked on every attempt: the bigint parse and range walk is paid once per policy and address.
  let known = decided.get(policy);
  if (!known) decided.set(policy, (known = new Map()));
  const hit = known.get(address);
  if (hit) return hit;
  if (known.size >= DECIDED_PER_POLICY) known.clear();
  const decision = decide(policy, address);
  known.set(address, decision);
  return decision;
}

function decide(policy: EgressPolicy, address: string): EgressDecision {
  const parsed = parseAddress(address);
  if (parsed === null) return { allowed: false, address, reason: `"${address}" is not an IP address` };
  // An IPv6 address that embeds an IPv4 one reaches that IPv4 host: both must pass.
  const candidates = [parsed, ...embeddedV4(parsed)];
  const shown = formatAddress(parsed);
  for (const text of policy.deny) {
    const range = parseCidr(text);
    if (range && candidates.some((a) => inRange(a, range))) return { allowed: false, address: shown, reason: `denied by egress.deny ${text}` };
  }
  for (const text of policy.allow) {
    const range = parseCidr(text);
    if (range && candidates.some((a) => inRange(a, range))) return { allowed: true, address: shown };
  }
  const rules = policy.mode === "public-only" ? [...always, ...notPublic] : always;
  for (const { range, why } of rules) {
    if (candidates.some((a) => inRange(a, range))) {
      const mode = policy.mode === "public-only" ? "egress mode public-only" : "the default egress policy";
      return { allowed: false, address: shown, reason: `${why} address ${shown} (${range.text}) refused by ${mode}` };
    }
  }
  return { allowed: true, address: shown };
}

/** A problem with a CIDR text, or null when it parses. */
export function cidrProblem(text: string): string | null {
  return parseCidr(text) ? null : `"${text}" is not an address range (e.g. "10.0.0.0/8", "fd00::/8", "192.168.1.7")`;
}

function inRange(address: bigint, range: Range): boolean {
  const mask = range.bits === 0 ? 0n : (ALL << BigInt(128 - range.bits)) & ALL;
  return (address & mask) === (range.base & mask);
}

function parseCidr(text: string): Range | null {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const isV4 = !addressText.includes(":");
  const base = isV4 ? parseIPv4(addressText) : parseIPv6(addressText);
  if (base === null) return null;
  const max = isV4 ? 32 : 128;
  const bits = slash < 0 ? max : /^\d{1,3}$/.test(text.slice(slash + 1)) ? Number(text.slice(slash + 1)) : NaN;
  if (!(bits >= 0 && bits <= max)) return null;
  return { text, base: isV4 ? V4_MAPPED | base : base, bits: isV4 ? bits + 96 : bits };
}

/** Any spelling of an IP address as a 128-bit number (IPv4 as ::ffff:a.b.c.d), or null. */
export function parseAddress(text: string): bigint | null {
  let t = text.trim();
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  if (t.includes(":")) return parseIPv6(t);
  const v4 = parseIPv4(t);
  return v4 === null ? null : V4_MAPPED | v4;
}

/** IPv4 as inet_aton reads it: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part fills the rest. */
function parseIPv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length < 1 || parts.length > 4) return null;
  const values: bigint[] = [];
  for (const part of parts) {
    let value: bigint;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) value = part.length === 2 ? 0n : BigInt(part);
    else if (/^0[0-7]+$/.test(part)) value = BigInt("0o" + part.slice(1));
    else if (/^(0|[1-9]\d*)$/.test(part)) value = BigInt(part);
    else return null;
    values.push(value);
  }
  let result = 0n;
  for (let i = 0; i < values.length - 1; i++) {
    if (values[i] > 255n) return null;
    result |= values[i] << BigInt(8 * (3 - i));
  }
  const last = values[values.length - 1];
  const room = 8 * (4 - (values.length - 1));
  if (last >= 1n << BigInt(room)) return null;
  return result | last;
}

function parseIPv6(text: string): bigint | null {
  const zone = text.indexOf("%");
  const t = zone < 0 ? text : text.slice(0, zone);
  const halves = t.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): bigint[] | null => {
    if (half === "") return [];
    const out: bigint[] = [];
    const pieces = half.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        // Only dotted-decimal is allowed inside IPv6.
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(piece)) return null;
        const v4 = parseIPv4(piece.split(".").map((p) => String(Number(p))).join("."));
        if (v4 === null) return null;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(BigInt("0x" + piece));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** The IPv4 address an IPv6 one reaches: IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96, 64:ff9b:1::/48). */
function embeddedV4(address: bigint): bigint[] {
  const low = address & 0xffffffffn;
  const high96 = address >> 32n;
  if (high96 === 0n && low > 1n) return [V4_MAPPED | low];
  if (high96 === 0x0064ff9b0000000000000000n) return [V4_MAPPED | low];
  if (address >> 80n === 0x0064ff9b0001n) return [V4_MAPPED | low];
  return [];
}

function formatAddress(address: bigint): string {
  if (address >> 32n === 0xffffn) {
    const v = Number(address & 0xffffffffn);
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((address >> BigInt(16 * i)) & 0xffffn).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
