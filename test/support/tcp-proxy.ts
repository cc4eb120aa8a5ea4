/** A TCP relay on 127.0.0.1 to PostgreSQL that can be stopped (dropping every connection) and started again. */
export function tcpProxy(host: string, port: number) {
  let listener: { port: number; stop(closeActive?: boolean): void } | null = null;
  let boundPort = 0;
  const sockets = new Set<{ end(): void }>();
  const start = () => {
    const started = Bun.listen<{ upstream: Promise<import("bun").Socket<unknown>> | null; pending: Uint8Array[] }>({
      hostname: "127.0.0.1",
      port: boundPort,
      socket: {
        open(client) {
          sockets.add(client);
          client.data = { upstream: null, pending: [] };
          client.data.upstream = Bun.connect({
            hostname: host,
            port,
            socket: {
              data: (_s, chunk) => void client.write(chunk),
              close: () => void client.end(),
              error: () => void client.end(),
            },
          }).then((up) => {
            sockets.add(up);
            for (const chunk of client.data.pending) up.write(chunk);
            client.data.pending = [];
            return up;
          });
        },
        data(client, chunk) {
          client.data.upstream?.then((up) => up.write(chunk));
        },
        close(client) {
          client.data.upstream?.then((up) => up.end());
        },
      },
    });
    listener = started;
    boundPort = started.port;
  };
  start();
  return {
    port: () => boundPort,
    stop() {
      listener?.stop(true);
      listener = null;
      for (const s of sockets) s.end();
      sockets.clear();
    },
    start,
  };
}
