import { join } from "node:path";
import type { Subprocess } from "bun";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

export interface RelayProcess {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Every stdout/stderr line so far. */
  lines: string[];
  /** Settles once both pipes are read to their end: every line the process wrote is in `lines`. */
  ended: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts `relay serve` as a real child process on a free port and waits for its "relay started" line. */
export async function startRelayProcess(
  configPath: string,
  env: Record<string, string> = {},
  command: string[] = [process.execPath, MAIN],
): Promise<RelayProcess> {
  const proc = Bun.spawn([...command, "serve", "--config", configPath, "--port", "0"], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  let resolveUrl: (url: string) => void;
  const started = new Promise<string>((r) => (resolveUrl = r));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line.includes('"relay started"')) resolveUrl(JSON.parse(line).url);
      }
    }
  };
  const ended = Promise.all([pump(proc.stdout), pump(proc.stderr)]).then(() => {});
  const exited = proc.exited.then((code) => {
    throw new Error(`relay exited with ${code} before starting:\n${lines.join("\n")}`);
  });
  const url = await Promise.race([started, exited, timeout(20_000, () => lines)]);
  return {
    url,
    proc,
    lines,
    ended,
    async kill(signal = "SIGKILL") {
      proc.kill(signal);
      const code = await proc.exited;
      await ended;
      return code;
    },
  };
}

function timeout(ms: number, lines: () => string[]): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`relay did not start in ${ms} ms:\n${lines().join("\n")}`)), ms));
}

/** POSTs JSON and returns status and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text, headers: res.headers };
}
