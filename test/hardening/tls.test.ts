import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { tempDir } from "../support/tmp.ts";

// Attempts connect to the address the egress policy checked; over TLS the certificate is still checked against the
// URL's host name. A throwaway certificate for "localhost", trusted only by the child process that sends.
const tmp = tempDir("relay-tls-");
afterAll(() => tmp.cleanup());

test.skipIf(!Bun.which("openssl"))("https: connected to the checked address, verified against the URL's name", async () => {
  const cert = join(tmp.dir, "cert.pem");
  const key = join(tmp.dir, "key.pem");
  const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]);
  expect(made.exitCode).toBe(0);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: Bun.file(cert), key: Bun.file(key) },
    fetch: (r) => new Response(`host=${r.headers.get("host")}`),
  });
  try {
    const script = join(tmp.dir, "send.ts");
    const src = join(import.meta.dir, "..", "..", "src");
    writeFileSync(script, `
      import { sendAttempt } from ${JSON.stringify(join(src, "delivery", "send.ts"))};
      import { systemClock } from ${JSON.stringify(join(src, "clock.ts"))};
      const r = await sendAttempt({ url: process.argv[2], headers: {}, body: "{}" }, 5000, systemClock);
      console.log(JSON.stringify(r));`);
    const send = async (url: string) => {
      const child = Bun.spawn([process.execPath, script, url], { env: { ...process.env, NODE_EXTRA_CA_CERTS: cert }, stdout: "pipe" });
      return JSON.parse(await new Response(child.stdout).text());
    };
    const byName = await send(`https://localhost:${server.port}/hook`);
    expect(byName).toMatchObject({ statusCode: 200, responseBody: `host=localhost:${server.port}` });
    // The certificate names localhost, not the address: without the name kept, this is what fails.
    const byAddress = await send(`https://127.0.0.1:${server.port}/hook`);
    expect(byAddress.statusCode).toBeNull();
    expect(byAddress.error).toMatch(/ALTNAME|certificate|hostname/i);
  } finally {
    server.stop(true);
  }
});
