import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { covers, HEALTH_TIMEOUT_MS, parseListening } from "../../src/cli/health.ts";
import { tempDir } from "../support/tmp.ts";

// `relay health` is the image's HEALTHCHECK: it passes only where the config says the server listens, and it
// explains a failure before the engine's --timeout kills it.

const ROOT = join(import.meta.dir, "..", "..");
const MAIN = join(ROOT, "src", "main.ts");
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir("relay-health-");
});
afterAll(() => tmp.cleanup());

function configFor(host: string, port: number): string {
  const file = join(tmp.dir, `relay-${host.replace(/\W/g, "_")}-${port}.yaml`);
  writeFileSync(file, `server: { host: "${host}", port: ${port} }\nstorage: { path: ./relay.db }\nsources: { shop: {} }\n`);
  return file;
}

async function health(file: string, ...args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, RELAY_CONFIG: file };
  for (const name of ["RELAY_HOST", "RELAY_PORT", "RELAY_STORAGE_PATH"]) delete env[name];
  const started = performance.now();
  const proc = Bun.spawn([process.execPath, MAIN, "health", ...args], { env, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr, ms: performance.now() - started };
}

function serve(hostname: string, status = 200) {
  return Bun.serve({ hostname, port: 0, fetch: () => Response.json({ status: status === 200 ? "healthy" : "unhealthy" }, { status }) });
}

describe("relay health", () => {
  test("passes where the config says the server listens", async () => {
    const server = serve("127.0.0.1");
    try {
      const r = await health(configFor("127.0.0.1", server.port!));
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('200 {"status":"healthy"}');
    } finally {
      server.stop(true);
    }
  });

  test("fails when the server listens on loopback only but the config says every interface", async () => {
    const server = serve("127.0.0.1");
    try {
      const r = await health(configFor("0.0.0.0", server.port!));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`not listening on 0.0.0.0:${server.port} (server.host, server.port or --port): it listens on 127.0.0.1;`);
    } finally {
      server.stop(true);
    }
  });

  test("--published fails a loopback server.host, which no published port reaches", async () => {
    const server = serve("127.0.0.1");
    try {
      const r = await health(configFor("127.0.0.1", server.port!), "--published");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("server.host is 127.0.0.1: only this machine's loopback reaches it, not a published port");
      expect((await health(configFor("0.0.0.0", server.port!), "--published")).code).toBe(1);
    } finally {
      server.stop(true);
    }
    const everywhere = serve("0.0.0.0");
    try {
      expect((await health(configFor("0.0.0.0", everywhere.port!), "--published")).code).toBe(0);
    } finally {
      everywhere.stop(true);
    }
  });

  test("an unhealthy answer fails with the answer", async () => {
    const server = serve("127.0.0.1", 503);
    try {
      const r = await health(configFor("127.0.0.1", server.port!));
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('503 {"status":"unhealthy"}');
    } finally {
      server.stop(true);
    }
  });

  test("a server that never answers fails within its own timeout, below the HEALTHCHECK's, saying so", async () => {
    const sockets: Array<{ destroy(): void }> = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await health(configFor("127.0.0.1", port));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`http://127.0.0.1:${port}/api/health: no answer within ${HEALTH_TIMEOUT_MS / 1000} s`);
      expect(r.ms).toBeGreaterThanOrEqual(HEALTH_TIMEOUT_MS);
      expect(r.ms).toBeLessThan(dockerfileTimeoutMs());
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  test("the Dockerfile's HEALTHCHECK --timeout leaves relay health time to speak", () => {
    expect(HEALTH_TIMEOUT_MS).toBeLessThanOrEqual(dockerfileTimeoutMs() - 1_500);
  });
});

function dockerfileTimeoutMs(): number {
  const line = readFileSync(join(ROOT, "Dockerfile"), "utf8").split("\n").find((l) => l.startsWith("HEALTHCHECK"))!;
  return Number(line.match(/--timeout=(\d+)s/)![1]) * 1000;
}

describe("/proc/net listening table", () => {
  const TCP = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
    "   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1",
    "   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1",
  ].join("\n");
  const TCP6 = [
    "  sl  local_address                         remote_address                        st",
    "   0: 00000000000000000000000000000000:1F92 00000000000000000000000000000000:0000 0A 0 0 0 0 0 4 1",
    "   1: 00000000000000000000000001000000:1F93 00000000000000000000000000000000:0000 0A 0 0 0 0 0 5 1",
    "   2: 0000000000000000FFFF00000100007F:1F94 00000000000000000000000000000000:0000 0A 0 0 0 0 0 6 1",
  ].join("\n");

  test("listening sockets by port, IPv4 and IPv6, connections left out", () => {
    expect(parseListening(TCP, TCP6, 8080)).toEqual(["127.0.0.1"]);
    expect(parseListening(TCP, TCP6, 8081)).toEqual(["0.0.0.0"]);
    expect(parseListening(TCP, TCP6, 8082)).toEqual(["::"]);
    expect(parseListening(TCP, TCP6, 8083)).toEqual(["::1"]);
    expect(parseListening(TCP, TCP6, 8084)).toEqual(["127.0.0.1"]);
    expect(parseListening(TCP, TCP6, 9999)).toEqual([]);
  });

  test("which listener serves which configured host", () => {
    expect(covers("0.0.0.0", "0.0.0.0")).toBe(true);
    expect(covers("0.0.0.0", "127.0.0.1")).toBe(true);
    expect(covers("::", "0.0.0.0")).toBe(true);
    expect(covers("127.0.0.1", "0.0.0.0")).toBe(false);
    expect(covers("127.0.0.1", "127.0.0.1")).toBe(true);
    expect(covers("127.0.0.1", "localhost")).toBe(true);
    expect(covers("::1", "::")).toBe(false);
  });
});
