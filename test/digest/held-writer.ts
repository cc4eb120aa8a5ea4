// Child process for the concurrency test: writes held digest items into the SQLite file, one commit each, a pause
// every ten, and prints every committed row id. It writes at least `count` and goes on until a line on stdin says
// stop, so the parent's flushes land among its writes however slowly either process runs.
import { openStore } from "../../src/store/store.ts";
import { hold } from "./helpers.ts";

const [path, destination, count] = process.argv.slice(2);
let stopped = false;
void (async () => {
  for await (const _ of Bun.stdin.stream()) break;
  stopped = true;
})();
const store = openStore(path);
for (let n = 1; n <= Number(count) || !stopped; n++) {
  const id = await hold(store, destination, Date.now(), `{"n":${n}}`);
  process.stdout.write(id + "\n");
  // Spread the writes out so the parent's flushes land between them.
  if (n % 10 === 0) await Bun.sleep(2);
}
await store.close();
process.exit(0);
