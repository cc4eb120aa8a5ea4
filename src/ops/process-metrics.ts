import { readdirSync } from "node:fs";
import type { Family } from "./exposition.ts";

// The process itself, read at scrape time: memory, CPU, open file descriptors and event-loop lag.

/** How long a callback queued now waits for the event loop (seconds): a loop stuck on sync work shows here. */
export function eventLoopLag(): Promise<number> {
  const start = Bun.nanoseconds();
  return new Promise((resolve) => setImmediate(() => resolve((Bun.nanoseconds() - start) / 1e9)));
}

/** Open file descriptors, where the system lists them (/proc on Linux); null elsewhere. */
function openFds(): number | null {
  try {
    // The listing itself holds one descriptor open while it reads.
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return null;
  }
}

export function processFamilies(lagSeconds: number): Family[] {
  const cpu = process.cpuUsage();
  const gauge = (name: string, help: string, value: number): Family => ({ type: "gauge", name, help, samples: [{ labels: {}, value }] });
  const families: Family[] = [
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", process.memoryUsage.rss()),
    {
      type: "counter",
      name: "process_cpu_seconds_total",
      help: "User and system CPU time spent, in seconds.",
      samples: [{ labels: {}, value: (cpu.user + cpu.system) / 1e6 }],
    },
    gauge("relay_event_loop_lag_seconds", "Delay of a callback queued at scrape time before the event loop ran it.", lagSeconds),
  ];
  const fds = openFds();
  if (fds !== null) families.push(gauge("process_open_fds", "Open file descriptors.", fds));
  return families;
}
