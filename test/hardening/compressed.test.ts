import { afterAll, beforeAll, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { systemClock } from "../../src/clock.ts";
import { sendAttempt } from "../../src/delivery/send.ts";

// A receiver on 127.0.0.1 that answers every attempt with 10 MB of "A" gzipped to about 10 KB.
const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, "A"), { level: 9 });
let seenEncoding: string | null = null;
let server: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      seenEncoding = request.headers.get("accept-encoding");
      return new Response(bomb, { headers: { "content-encoding": "gzip", "content-type": "text/plain" } });
    },
  });
});
afterAll(() => server.stop(true));

test("attempts ask for identity and never inflate a compressed answer", async () => {
  const req = { url: `http://127.0.0.1:${server.port}/hook`, headers: { "content-type": "application/json" }, body: "{}" };
  const rssBefore = process.memoryUsage().rss;
  for (let i = 0; i < 5; i++) {
    const result = await sendAttempt(req, 5000, systemClock);
    expect(result.statusCode).toBe(200);
    // What was kept is at most the bytes on the wire, not the 10 MB they inflate to.
    expect(result.responseBody.length).toBeLessThanOrEqual(bomb.length * 2);
    expect(result.responseBody).not.toContain("AAAAAAAAAAAAAAAA");
  }
  expect(seenEncoding).toBe("identity");
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(40 * 1024 * 1024);
});
