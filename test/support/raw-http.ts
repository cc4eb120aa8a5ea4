import { connect } from "node:net";

/**
 * Sends raw bytes (requests fetch() would never send) to 127.0.0.1:`port`; resolves with the status, the header
 * block and the body once the server closes the connection or `ms` pass.
 */
export function rawRequest(port: number, bytes: string | Buffer, ms = 3000): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    const chunks: Buffer[] = [];
    const done = () => {
      socket.destroy();
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      resolve({ status: Number(text.slice(9, 12)), head: text.slice(0, split), body: text.slice(split + 4) });
    };
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", done);
    socket.on("error", reject);
    socket.setTimeout(ms, done);
  });
}
