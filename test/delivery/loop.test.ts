import { expect, test } from "bun:test";
import { Loop, type LoopState } from "../../src/delivery/loop.ts";

function counting(budgetMs: number) {
  const seen: LoopState[] = [];
  let passes = 0;
  let starts = 0;
  const loop: Loop = new Loop({
    starting: () => {
      starts++;
      seen.push(loop.state);
    },
    pass: async () => {
      passes++;
      seen.push(loop.state);
      return false;
    },
    sleepBudget: () => budgetMs,
    onError: () => {},
  });
  return { loop, seen, passes: () => passes, starts: () => starts };
}
const turn = () => new Promise((r) => setTimeout(r, 10));

test("states: starting runs once before the first pass, passes run while running, stop drains then stopped", async () => {
  const c = counting(3_600_000);
  expect(c.loop.state).toBe("stopped");
  c.loop.start();
  c.loop.start();
  expect(c.starts()).toBe(1);
  await turn();
  expect(c.seen).toEqual(["starting", "running"]);
  let stateWhileDraining: LoopState | null = null;
  await c.loop.stop(async () => {
    stateWhileDraining = c.loop.state;
  });
  expect(stateWhileDraining as LoopState | null).toBe("stopping");
  expect(c.loop.state).toBe("stopped");
});

test("notify() cuts an idle sleep short; without it the loop sleeps its budget", async () => {
  const c = counting(3_600_000);
  c.loop.start();
  await turn();
  expect(c.passes()).toBe(1);
  await turn();
  expect(c.passes()).toBe(1);
  c.loop.notify();
  await turn();
  expect(c.passes()).toBe(2);
  await c.loop.stop(async () => {});
});

test("stop() on a loop never started still drains; a second stop waits for the same drain", async () => {
  const c = counting(10);
  let drains = 0;
  const drain = async () => {
    drains++;
    await turn();
  };
  await Promise.all([c.loop.stop(drain), c.loop.stop(drain)]);
  expect(drains).toBe(1);
  expect(c.passes()).toBe(0);
  expect(c.loop.state).toBe("stopped");
});
