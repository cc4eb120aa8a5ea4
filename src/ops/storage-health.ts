import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { Clock } from "../clock.ts";

// What the health check and ingest know about writing: failing writes, commits waiting on the write lock, free space.

export type StorageVerdict = { ok: true } | { ok: false; reason: string };

export interface StorageHealth {
  /** Marks a commit as waiting; call the returned function when it is answered. */
  commitStarted(): () => void;
  failed(reason: string): void;
  succeeded(): void;
  /** Free space below the floor, or null (checked at most once a second). */
  belowFloor(): { free: number; min: number } | null;
  /** Free bytes beside the database at the last reading (at most a second old); null without a disk. */
  freeBytes(): number | null;
  /** Answers at once: never touches the database. */
  verdict(): StorageVerdict;
}

export interface StorageHealthDeps {
  clock: Clock;
  /** The database file; free space is read on its folder's filesystem. "" or ":memory:": no disk. */
  path: () => string;
  minFreeBytes: () => number;
  commitTimeoutMs: () => number;
  /** Free bytes available to this process on the filesystem holding `folder`. */
  freeBytes?: (folder: string) => number;
}

export function createStorageHealth(deps: StorageHealthDeps): StorageHealth {
  const freeBytes = deps.freeBytes ?? ((folder: string) => {
    const s = statfsSync(folder);
    return Number(s.bavail) * Number(s.bsize);
  });
  let failure: { reason: string; since: number } | null = null;
  const waiting = new Map<number, number>();
  let nextId = 0;
  let floorCheckedAt = -Infinity;
  let floor: { free: number; min: number } | null = null;
  let lastFree: number | null = null;

  const belowFloor = () => {
    const now = deps.clock.now();
    if (now - floorCheckedAt < 1000) return floor;
    floorCheckedAt = now;
    const path = deps.path();
    const min = deps.minFreeBytes();
    if (path === "" || path === ":memory:") return (lastFree = null), (floor = null);
    try {
      lastFree = freeBytes(dirname(path));
      floor = min > 0 && lastFree < min ? { free: lastFree, min } : null;
    } catch {
      lastFree = null;
      floor = null;
    }
    return floor;
  };

  return {
    commitStarted() {
      const id = nextId++;
      // Real elapsed time: a held lock stalls the process's real clock, not the injected one.
      waiting.set(id, performance.now());
      return () => waiting.delete(id);
    },
    failed(reason) {
      if (!failure) failure = { reason, since: deps.clock.now() };
      else failure.reason = reason;
    },
    succeeded() {
      failure = null;
    },
    belowFloor,
    freeBytes() {
      belowFloor();
      return lastFree;
    },
    verdict() {
      if (failure) return { ok: false, reason: `writes failing since ${new Date(failure.since).toISOString()}: ${failure.reason}` };
      let oldest = Infinity;
      for (const at of waiting.values()) oldest = Math.min(oldest, at);
      const waited = performance.now() - oldest;
      if (waited > deps.commitTimeoutMs()) {
        return { ok: false, reason: `a commit has waited ${Math.round(waited / 1000)} s for the database (write lock held elsewhere or disk stalled)` };
      }
      const low = belowFloor();
      if (low) return { ok: false, reason: `free disk space ${mb(low.free)} is below storage.min_free ${mb(low.min)}` };
      return { ok: true };
    },
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
