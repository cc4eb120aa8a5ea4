import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { loadConfig } from "../config/load.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { errorMessage } from "../errors.ts";

// `relay health`: the container's HEALTHCHECK (distroless has no curl). It passes only when the server listens
// where the config says and answers healthy there, and it says why not in time: its timeout is below the
// HEALTHCHECK's --timeout (the Dockerfile test keeps it so), or the engine would kill it before it speaks.

export const HEALTH_TIMEOUT_MS = 3_000;

export interface HealthOptions {
  configPath: string;
  port?: string;
  /** Also fail when server.host is loopback: a published port or a peer container cannot reach it. */
  published?: boolean;
}

export async function healthCommand(opts: HealthOptions): Promise<number> {
  const target = listenTarget(opts);
  if (opts.published && isLoopback(target.host)) {
    console.error(
      `server.host is ${target.host}: only this machine's loopback reaches it, not a published port; ` +
        "listen on 0.0.0.0 (leave $RELAY_HOST at the image's 0.0.0.0 or remove server.host)",
    );
    return 1;
  }
  const listening = listeningAddresses(target.port);
  if (listening && !listening.some((address) => covers(address, target.host))) {
    const where = listening.length ? `it listens on ${listening.join(", ")}` : "nothing listens on that port";
    console.error(`not listening on ${hostPort(target.host, target.port)} (server.host, server.port or --port): ${where}; server changes apply at restart`);
    return 1;
  }
  const url = `http://${hostPort(probeHost(target.host), target.port)}/api/health`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    console.log(`${res.status} ${await res.text()}`);
    return res.ok ? 0 : 1;
  } catch (error) {
    const timedOut = (error as Error).name === "TimeoutError";
    console.error(`${url}: ${timedOut ? `no answer within ${HEALTH_TIMEOUT_MS / 1000} s` : errorMessage(error)}`);
    return 1;
  }
}

/** Host and port the server was told to listen on; with an unreadable config, the overrides and defaults. */
function listenTarget(opts: HealthOptions): { host: string; port: number } {
  let host: string;
  let port: number;
  try {
    ({ host, port } = loadConfig(opts.configPath).server);
  } catch (error) {
    console.error(`the config cannot be read (${errorMessage(error).split("\n")[0]}); probing $RELAY_HOST/$RELAY_PORT or the defaults`);
    host = process.env.RELAY_HOST || DEFAULTS.host;
    port = Number(process.env.RELAY_PORT || DEFAULTS.port);
  }
  return { host, port: opts.port ? Number(opts.port) : port };
}

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** A wildcard listener answers on loopback too. */
function probeHost(host: string): string {
  if (host === "::") return "::1";
  return WILDCARDS.has(host) ? "127.0.0.1" : host;
}

function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** Does a listener on `address` accept connections meant for `host`? */
export function covers(address: string, host: string): boolean {
  if (address === "::") return true; // dual-stack wildcard
  if (address === "0.0.0.0") return isIP(host) !== 6 || host === "::";
  if (WILDCARDS.has(host)) return false;
  if (host === "localhost") return isLoopback(address);
  return address === host;
}

/** Addresses with a TCP socket listening on `port`, from /proc/net (Linux); undefined where it cannot be read. */
function listeningAddresses(port: number): string[] | undefined {
  try {
    const v4 = readFileSync("/proc/net/tcp", "utf8");
    let v6 = "";
    try {
      v6 = readFileSync("/proc/net/tcp6", "utf8");
    } catch {
      // no IPv6 in this kernel or namespace
    }
    return parseListening(v4, v6, port);
  } catch {
    return undefined;
  }
}

/** Parses /proc/net/tcp and tcp6 tables: local addresses in state 0A (LISTEN) on `port`. */
export function parseListening(tcp: string, tcp6: string, port: number): string[] {
  const found = new Set<string>();
  for (const line of `${tcp}\n${tcp6}`.split("\n")) {
    const [local, , state] = line.trim().split(/\s+/).slice(1, 4);
    if (state !== "0A" || !local?.includes(":")) continue;
    const [hex, portHex] = local.split(":") as [string, string];
    if (parseInt(portHex, 16) !== port) continue;
    found.add(hex.length === 8 ? ipv4(hex) : ipv6(hex));
  }
  return [...found];
}

// /proc writes addresses as host-order 32-bit words (little-endian on the machines Relay runs on).
const word = (hex: string) => hex.match(/../g)!.reverse().join("");

function ipv4(hex: string): string {
  return word(hex).match(/../g)!.map((b) => parseInt(b, 16)).join(".");
}

function ipv6(hex: string): string {
  const words = hex.match(/.{8}/g)!.map(word).join("");
  if (/^0{20}ffff/i.test(words)) return ipv4(hex.slice(24));
  const groups = words.match(/.{4}/g)!.map((g) => parseInt(g, 16).toString(16));
  // The longest run of two or more zero groups becomes "::", as in the addresses people write.
  const runs = [...groups.join(":").matchAll(/(?:^|:)0(?::0)+(?=:|$)/g)].sort((a, b) => b[0].length - a[0].length);
  const run = runs[0];
  if (!run) return groups.join(":");
  const text = groups.join(":");
  return `${text.slice(0, run.index)}::${text.slice(run.index + run[0].length).replace(/^:/, "")}`;
}
