import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startRig, type AdminRig } from "./support.ts";

// The README's Admin API table names every admin route the app serves, and no route it does not.

let rig: AdminRig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig?.stop());

/** `METHOD /path` of each route in the table's first column; `…/resume` continues the path before it. */
function documented(): string[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Admin API"), readme.indexOf("## The five systems"));
  const out: string[] = [];
  for (const row of section.split("\n").filter((r) => r.startsWith("| `"))) {
    let last = "";
    for (const [, method, path] of row.split(" | ")[0].matchAll(/`(?:(GET|POST|PUT|PATCH|DELETE) )?((?:\/api|…)\/[^`?]*)[^`]*`/g)) {
      const full = path.startsWith("…/") ? last.replace(/\/[^/]+$/, path.slice(1)) : path;
      out.push(`${method ?? out.at(-1)!.split(" ")[0]} ${full}`);
      last = full;
    }
  }
  return out;
}

test("the README's Admin API table lists exactly the admin routes", () => {
  const served = (rig.h.relay.app as unknown as { routes: Array<{ method: string; path: string }> }).routes
    .map((r) => `${r.method} ${r.path}`)
    .filter((r) => / \/api\/(?!webhook|health|openapi|docs)/.test(r));
  expect([...new Set(documented())].sort()).toEqual([...new Set(served)].sort());
});
