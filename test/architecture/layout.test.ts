import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
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

test("every file the layout table names is in one of its row's folders", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("Layout: `src/<stage>/`")).split("\n\n")[1];
  const missing: string[] = [];
  for (const row of table.split("\n").slice(2)) {
    const [first, rest] = row.split(" | ");
    const named = [...first.matchAll(/`(src\/[^`]+\/)`/g)].map((m) => m[1]);
    if (named.length === 0) continue;
    // A row may say "PostgreSQL in `postgres/`: … (`shared.ts`)": its subfolders count as its folders.
    const subfolders = [...rest.matchAll(/`([\w-]+\/)`/g)].map((m) => m[1]);
    const folders = [...named, ...named.flatMap((folder) => subfolders.map((sub) => folder + sub))];
    for (const [, name] of rest.matchAll(/`([\w/-]+\.ts)`/g)) {
      if (!folders.some((folder) => existsSync(join(ROOT, folder, name)))) missing.push(`${named.join(", ")}: ${name}`);
    }
  }
  expect(missing).toEqual([]);
});

test("no file in src/ is over 400 lines", () => {
  const long: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (path.endsWith(".ts") && readFileSync(join(ROOT, path), "utf8").split("\n").length > 401) long.push(path);
    }
  };
  walk("src");
  expect(long).toEqual([]);
});
