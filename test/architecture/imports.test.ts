import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// The module boundaries of ARCHITECTURE.md, read from the import statements themselves.
const SRC = join(import.meta.dir, "..", "..", "src");

interface Import {
  from: string; // importing file, relative to src/
  to: string; // target: a path relative to src/, or a package / builtin name
  typeOnly: boolean;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const imports: Import[] = files(SRC).flatMap((file) => {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms)].map((m) => ({
    from: relative(SRC, file),
    to: m[3].startsWith(".") ? relative(SRC, resolve(dirname(file), m[3])) : m[3],
    typeOnly: Boolean(m[2]),
  }));
});

const runtime = imports.filter((i) => !i.typeOnly);
const ours = (i: Import) => !i.to.startsWith("..") && i.to.endsWith(".ts");
const IO = /^(node:(fs|net|http|https|child_process)|bun:sqlite|bun)$/;
const PURE = ["routing/", "signing/", "delivery/policy.ts", "delivery/outcome.ts", "delivery/circuit.ts", "digest/window.ts", "digest/body.ts"];

describe("module boundaries", () => {
  test("the reader sees every source file", () => {
    expect(imports.some((i) => i.from === "server.ts" && i.to === "app.ts")).toBe(true);
  });

  test("store/ imports nothing of ours outside store/ but the kernel", () => {
    const kernel = ["errors.ts", "clock.ts", "log.ts", "ids.ts", "version.ts", "config/types.ts"];
    expect(runtime.filter((i) => i.from.startsWith("store/") && ours(i) && !i.to.startsWith("store/") && !kernel.includes(i.to))).toEqual([]);
  });

  test("pure decisions import no I/O and no store at run time", () => {
    const pure = runtime.filter((i) => PURE.some((p) => i.from.startsWith(p)));
    expect(pure.filter((i) => IO.test(i.to) || i.to.startsWith("store/"))).toEqual([]);
  });

  test("ingest/ and admin/ never import delivery/", () => {
    expect(runtime.filter((i) => /^(ingest|admin)\//.test(i.from) && i.to.startsWith("delivery/"))).toEqual([]);
  });

  test("nothing imports main.ts; only the composition imports app.ts", () => {
    expect(imports.filter((i) => i.to === "main.ts")).toEqual([]);
    expect(imports.filter((i) => i.to === "app.ts").map((i) => i.from)).toEqual(["server.ts"]);
  });
});
