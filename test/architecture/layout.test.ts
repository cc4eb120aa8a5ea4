import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// The README's layout table names every folder and top-level file of src/, and nothing that is not there.
const ROOT = join(import.meta.dir, "..", "..");

test("the README's layout table matches the tree", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("Layout: `src/<stage>/`");
  expect(start).toBeGreaterThan(-1);
  const table = readme.slice(start).split("\n\n")[1];
  const firstCells = table.split("\n").slice(2).map((row) => row.split(" | ")[0]);
  const named = firstCells.flatMap((cell) => [...cell.matchAll(/`(src\/[^`]+)`/g)].map((m) => m[1].replace(/\/$/, "")));
  const tree = readdirSync(join(ROOT, "src"), { withFileTypes: true }).map((e) => `src/${e.name}`);
  expect(named.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  expect(tree.filter((path) => !named.includes(path))).toEqual([]);
});
