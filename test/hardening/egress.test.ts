import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { DEFAULT_EGRESS } from "../../src/config/defaults.ts";
import type { EgressPolicy } from "../../src/config/types.ts";
import { decideEgress } from "../../src/delivery/egress.ts";
import { admin, ADMIN_TOKEN, startHarness, type Harness } from "../support/harness.ts";
import { tempDir } from "../support/tmp.ts";

// Decisions on addresses other than loopback are tested here as data; no test connects anywhere but 127.0.0.1.

const refusedByDefault = [
  ["169.254.169.254", "link-local"],
  ["2852039166", "link-local"], // decimal
  ["0xA9FEA9FE", "link-local"], // hex
  ["0251.0376.0251.0376", "link-local"], // octal
  ["0xa9.0xfe.0xa9fe", "link-local"], // mixed, 3 parts
  ["169.254.43518", "link-local"], // 3 parts, last fills 16 bits
  ["::ffff:169.254.169.254", "link-local"], // IPv4-mapped
  ["::ffff:a9fe:a9fe", "link-local"], // IPv4-mapped, hex
  ["[::ffff:169.254.169.254]", "link-local"], // bracketed
  ["::169.254.169.254", "link-local"], // IPv4-compatible
  ["64:ff9b::a9fe:a9fe", "link-local"], // NAT64
  ["64:ff9b:1::a9fe:a9fe", "link-local"], // local-use NAT64
  ["fe80::1", "link-local"],
  ["fe80::1%eth0", "link-local"],
  ["FEBF::1", "link-local"],
  ["0.0.0.0", "unspecified"],
  ["0", "unspecified"],
  ["::", "unspecified"],
  ["::ffff:0.0.0.0", "unspecified"],
  ["224.0.0.1", "multicast"],
  ["ff02::1", "multicast"],
  ["255.255.255.255", "broadcast"],
  ["4294967295", "broadcast"],
] as const;

describe("the default egress policy", () => {
  test.each(refusedByDefault)("refuses %s (%s)", (address, why) => {
    const decision = decideEgress(DEFAULT_EGRESS, address);
    expect(decision.allowed).toBe(false);
    if (!decision.allowed) expect(decision.reason).toContain(why === "broadcast" ? "broadcast" : why);
  });

  test.each(["127.0.0.1", "0x7f000001", "2130706433", "::1", "10.1.2.3", "192.168.0.10", "172.16.5.4", "fd00::5", "93.184.216.34", "2606:4700::1111", "::ffff:10.0.0.1"])(
    "allows %s (loopback, private and public receivers)",
    (address) => expect(decideEgress(DEFAULT_EGRESS, address).allowed).toBe(true),
  );

  test("garbage is refused, not guessed", () => {
    for (const text of ["", "1.2.3.4.5", "256.1.1.1", "09.1.1.1", "1::2::3", "example.com", "::ffff:1.2.3"]) {
      expect(decideEgress(DEFAULT_EGRESS, text).allowed).toBe(false);
    }
  });
});

describe("egress settings", () => {
  const publicOnly: EgressPolicy = { mode: "public-only", allow: [], deny: [] };
  test.each(["127.0.0.1", "::1", "10.0.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "fc00::1", "::ffff:192.168.1.1", "64:ff9b::a00:1", "::10.0.0.1"])(
    "public-only refuses %s",
    (address) => expect(decideEgress(publicOnly, address).allowed).toBe(false),
  );
  test("public-only allows public addresses, and an allow range reopens a private one", () => {
    expect(decideEgress(publicOnly, "93.184.216.34").allowed).toBe(true);
    expect(decideEgress(publicOnly, "2606:4700::1111").allowed).toBe(true);
    const withAllow = { ...publicOnly, allow: ["10.20.0.0/16"] };
    expect(decideEgress(withAllow, "10.20.3.4").allowed).toBe(true);
    expect(decideEgress(withAllow, "10.21.3.4").allowed).toBe(false);
  });
  test("deny wins over allow and over the mode, in every spelling", () => {
    const policy: EgressPolicy = { mode: "default", allow: ["127.0.0.0/8"], deny: ["127.0.0.1/32", "fd00::/8"] };
    for (const address of ["127.0.0.1", "0x7f.1", "2130706433", "::ffff:127.0.0.1", "::ffff:7f00:1"]) {
      expect(decideEgress(policy, address)).toMatchObject({ allowed: false, reason: "denied by egress.deny 127.0.0.1/32" });
    }
    expect(decideEgress(policy, "127.0.0.2").allowed).toBe(true);
    expect(decideEgress(policy, "fd12::1").allowed).toBe(false);
  });
  test("relay check rejects a range that does not parse", () => {
    expect(() => parseConfig("egress: { deny: [10.0.0.0/33, nonsense] }", "relay.yaml", {})).toThrow(/egress\.deny\[0\].*not an address range[\s\S]*egress\.deny\[1\]/);
  });
});

describe("at connect time", () => {
  let h: Harness | undefined;
  let listener: import("bun").TCPSocketListener<undefined> | undefined;
  afterEach(async () => {
    await h?.stop();
    listener?.stop(true);
    h = undefined;
  });

  test("a loopback destination denied by config never receives a connection, until the policy changes", async () => {
    let connections = 0;
    listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open() {
          connections++;
        },
        data(socket) {
          socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        },
      },
    });
    const yaml = (egress: string) => `
server: { admin_token: "\${RELAY_ADMIN_TOKEN}" }
storage: { path: ./data/relay.db }
sources: { shop: { id: shop-1 } }
destinations:
  inside: { url: "http://localhost:${listener!.port}/hook", retry: [1s, 1s, 1s] }
routes: [{ from: shop, to: inside }]
${egress}`;
    h = await startHarness(yaml("egress: { deny: [127.0.0.0/8, ::1/128] }"));
    const accepted = await h.call("POST", "/api/webhook/shop-1", { body: { type: "t" } });
    expect(accepted.status).toBe(202);
    await h.relay.worker.runOnce();
    h.clock.advance(10_000);
    await h.relay.worker.runOnce();
    expect(connections).toBe(0);
    const event = (await h.call("GET", `/api/events/${accepted.json.id}`, { headers: admin })).json;
    expect(event.deliveries[0].status).toBe("dead");
    expect(event.deliveries[0].lastError).toMatch(/^egress refused: denied by egress.deny (127.0.0.0\/8|::1\/128)$/);
    expect(event.deliveries[0].history).toHaveLength(1);

    h.relay.reload(parseConfig(yaml(""), join(h.dir, "relay.yaml"), { RELAY_ADMIN_TOKEN: ADMIN_TOKEN }));
    await h.relay.worker.runOnce();
    expect(connections).toBe(1);
    const after = (await h.call("GET", `/api/events/${accepted.json.id}`, { headers: admin })).json;
    expect(after.deliveries[0].status).toBe("delivered");
  });
});

describe("relay check and relay try show the decision per destination", () => {
  const tmp = tempDir("relay-egress-cli-");
  afterAll(() => tmp.cleanup());
  const file = join(tmp.dir, "relay.yaml");
  writeFileSync(
    file,
    `
egress: { mode: default, deny: [10.0.0.0/8] }
sources: { shop: { id: shop-1 } }
destinations:
  metadata: { url: "http://169.254.169.254/latest" }
  mapped: { url: "http://[::ffff:a9fe:a9fe]/x" }
  hexed: { url: "http://0xA9FEA9FE/x" }
  private: { url: "http://10.1.2.3:8080/x" }
  local: { url: "http://127.0.0.1:9/x" }
routes: [{ from: shop, to: [metadata, mapped, hexed, private, local] }]
`,
  );
  writeFileSync(join(tmp.dir, "payload.json"), '{"type":"t"}');
  const relay = (...args: string[]) => {
    const p = Bun.spawnSync([process.execPath, join(import.meta.dir, "..", "..", "src", "main.ts"), ...args], { cwd: tmp.dir });
    return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
  };

  test("relay check", () => {
    const r = relay("check", "--config", file);
    expect(r.code).toBe(0);
    expect(r.out).toContain("metadata http://169.254.169.254/latest: refused: egress refused: link-local address 169.254.169.254");
    expect(r.out).toMatch(/mapped http:\/\/\[::ffff:a9fe:a9fe\]\/x: refused: egress refused: link-local/);
    expect(r.out).toContain("hexed http://169.254.169.254/x: refused");
    expect(r.out).toContain("private http://10.1.2.3:8080/x: refused: egress refused: denied by egress.deny 10.0.0.0/8");
    expect(r.out).toContain("local http://127.0.0.1:9/x: allowed → 127.0.0.1");
  });

  test("relay try", () => {
    const r = relay("try", "--config", file, "--source", "shop", "--payload", "payload.json", "--json");
    expect(r.code).toBe(0);
    const run = JSON.parse(r.out);
    const byName = Object.fromEntries(run.deliveries.map((d: any) => [d.destination, d.egress]));
    expect(byName.metadata).toMatchObject({ allowed: false, reason: expect.stringContaining("link-local") });
    expect(byName.mapped.allowed).toBe(false);
    expect(byName.private).toMatchObject({ allowed: false, reason: expect.stringContaining("egress.deny 10.0.0.0/8") });
    expect(byName.local).toEqual({ allowed: true, address: "127.0.0.1" });
    const text = relay("try", "--config", file, "--source", "shop", "--payload", "payload.json");
    expect(text.out).toContain("egress: refused: egress refused: link-local address 169.254.169.254");
  });
});
