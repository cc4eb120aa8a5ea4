// What an attempt keeps of an answer: a short one whole, a long or endless one only up to the 64 KB an
// acknowledgment could ever need, so a receiver cannot hold a slot or fill the memory by answering at length.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { systemClock } from "../../src/clock.ts";
import { sendAttempt } from "../../src/delivery/send.ts";

const LIMIT = 64 * 1024;
let server: ReturnType<typeof Bun.serve>;
let endlessChunks = 0;
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/short") return new Response(`{"status":"success","pad":"${"é".repeat(500)}"}`);
      if (path === "/long") return new Response(Buffer.alloc(10 * 1024 * 1024, "B"));
      // No length declared: chunks for as long as someone reads them.
      const chunk = new Uint8Array(16 * 1024).fill(67);
      return new Response(new ReadableStream({ pull: (c) => void (endlessChunks++, c.enqueue(chunk)) }));
    },
  });
});
afterAll(() => server.stop(true));

const attempt = (path: string) =>
  sendAttempt({ url: `http://127.0.0.1:${server.port}${path}`, headers: { "content-type": "application/json" }, body: "{}" }, 5000, systemClock);

test("a short answer is read whole, its UTF-8 decoded", async () => {
  const result = await attempt("/short");
  expect(result.statusCode).toBe(200);
  expect(result.responseBody).toBe(`{"status":"success","pad":"${"é".repeat(500)}"}`);
});

test("a long declared answer is read only up to the limit", async () => {
  const result = await attempt("/long");
  expect(result.statusCode).toBe(200);
  expect(result.responseBody.length).toBeGreaterThanOrEqual(LIMIT);
  expect(result.responseBody.length).toBeLessThan(LIMIT + 1024 * 1024);
  expect(result.responseBody.startsWith("BBBB")).toBe(true);
});

test("an endless answer ends the attempt once the limit is read", async () => {
  const result = await attempt("/endless");
  expect(result.statusCode).toBe(200);
  expect(result.error).toBeNull();
  expect(result.responseBody.length).toBeGreaterThanOrEqual(LIMIT);
  expect(result.responseBody.length).toBeLessThan(LIMIT + 1024 * 1024);
  // Reading stopped: the server is asked for a bounded number of chunks, not for ever.
  await Bun.sleep(100);
  const after = endlessChunks;
  await Bun.sleep(200);
  expect(endlessChunks - after).toBeLessThan(64);
});
