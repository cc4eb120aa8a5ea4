// The raw ceiling: a bare Bun.serve on 127.0.0.1 that answers 200 without looking at the request.
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () => new Response("ok"),
});
console.log(JSON.stringify({ url: `http://127.0.0.1:${server.port}` }));
const stop = () => {
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
