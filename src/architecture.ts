// Which module may import which: the table of ARCHITECTURE.md, kept here once; test/architecture/ checks every import.
// Imports are read with Bun's own parser, so type-only imports (erased before anything runs) are not dependencies.

/** Files every module may import; they import each other only. */
export const KERNEL = ["errors.ts", "clock.ts", "log.ts", "ids.ts", "version.ts", "config/types.ts"];

export type Allowed = "anything" | string[];

export interface ModuleRule {
  /** Modules (a folder name or a top-level file) or single files (`signing/presets.ts`) it may import. */
  mayImport: Allowed;
  /** The only modules that may import it; absent: any module its own rules allow. */
  importedBy?: string[];
  /** Modules it must never import, even where `mayImport` says anything. */
  never?: string[];
}

export const MODULES: Record<string, ModuleRule> = {
  "main.ts": { mayImport: "anything", importedBy: [] },
  "server.ts": { mayImport: "anything", importedBy: ["main.ts"] },
  "app.ts": { mayImport: ["ingest", "admin", "ui", "ops"], importedBy: ["server.ts"] },
  // Parsers only, so that `relay check` rejects what would fail at run time (egress: the address ranges).
  config: { mayImport: ["signing/presets.ts", "signing/hmac.ts", "routing/template.ts", "routing/jsonata.ts", "delivery/egress.ts"] },
  signing: { mayImport: [] },
  routing: { mayImport: [] },
  store: { mayImport: [] },
  auth: { mayImport: ["store"] },
  ingest: { mayImport: ["config", "signing", "routing", "store", "auth"] },
  admin: { mayImport: ["store", "auth", "config", "routing"] },
  ui: { mayImport: ["store", "auth", "config", "admin/kit.ts"] },
  delivery: { mayImport: ["signing", "store", "config"] },
  digest: { mayImport: ["store", "config", "delivery/policy.ts"] },
  ops: { mayImport: ["store", "config"] },
  cli: { mayImport: "anything", never: ["app.ts"] },
  // This table; only its test reads it.
  "architecture.ts": { mayImport: [], importedBy: [] },
};

/** Files outside their folder's module by where they live, with the module they belong to. */
export const FILE_MODULES: Record<string, string> = { "health.ts": "ops" };

/** Pure decisions: no I/O modules, no store. */
export const PURE = [
  "signing",
  "routing",
  "delivery/policy.ts",
  "delivery/outcome.ts",
  "delivery/circuit.ts",
  "delivery/backoff.ts",
  "delivery/egress.ts",
  "delivery/share.ts",
];
const IO = ["fs", "fs/promises", "net", "http", "https", "http2", "child_process", "dgram", "dns", "dns/promises", "tls", "worker_threads"];
export const IO_MODULES = new Set([...IO, ...IO.map((m) => `node:${m}`), "bun", "bun:sqlite"]);

/** I/O through globals, which no import shows: network, files, processes. */
const IO_GLOBALS = /\b(?:fetch\s*\(|Bun\.(?:file|write|spawn|spawnSync|connect|listen|serve|udpSocket)\b|process\.(?:exit|kill)\b)/;

export interface SourceFile {
  /** Path relative to src/, with forward slashes. */
  path: string;
  text: string;
}

export interface Violation {
  from: string;
  to: string;
  rule: string;
}

const transpiler = new Bun.Transpiler({ loader: "ts" });

/** Code as it runs (types and comments gone), for the I/O-through-globals check. */
function runtimeCode(text: string): string {
  return transpiler.transformSync(text.replace(/^#!.*/, ""));
}

/** Every import that loads code: static, re-exports, side-effect, `import()` and `require()` with a literal. */
export function importsOf(text: string): string[] {
  // The parser refuses a shebang line, which only the CLI entry has.
  return transpiler.scanImports(text.replace(/^#!.*/, "")).map((i) => i.path);
}

/** The module a file belongs to: its top folder, or itself at the top level. */
export function moduleOf(path: string): string {
  if (KERNEL.includes(path)) return "kernel";
  if (FILE_MODULES[path]) return FILE_MODULES[path];
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(0, slash);
}

/** A relative specifier resolved against the importing file (src/-relative; `..` when it leaves src/). */
function resolveSpecifier(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.length > 0 ? parts.pop() : parts.push("..");
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

/** The file an import names, with `.ts` added when the specifier has no extension and a source file has that name. */
function targetFile(resolved: string, known: Set<string>): string {
  if (known.has(resolved)) return resolved;
  for (const candidate of [`${resolved}.ts`, `${resolved}/index.ts`]) if (known.has(candidate)) return candidate;
  return resolved;
}

const allows = (allowed: Allowed, module: string, file: string) =>
  allowed === "anything" || allowed.includes(module) || allowed.includes(file);

/** Every import of these files that breaks the table. */
export function violations(files: SourceFile[]): Violation[] {
  const known = new Set(files.map((f) => f.path));
  const found: Violation[] = [];
  for (const file of files) {
    const from = moduleOf(file.path);
    const rule = from === "kernel" ? null : MODULES[from];
    if (from !== "kernel" && !rule) {
      found.push({ from: file.path, to: "", rule: `${file.path} belongs to no module of the table` });
      continue;
    }
    const pure = PURE.some((p) => file.path === p || file.path.startsWith(`${p}/`));
    const global = pure ? IO_GLOBALS.exec(runtimeCode(file.text)) : null;
    if (global) found.push({ from: file.path, to: global[0], rule: "pure modules do no I/O" });
    for (const specifier of importsOf(file.text)) {
      if (!specifier.startsWith(".")) {
        if (pure && IO_MODULES.has(specifier)) found.push({ from: file.path, to: specifier, rule: "pure modules do no I/O" });
        continue;
      }
      const resolved = resolveSpecifier(file.path, specifier);
      if (resolved.startsWith("..")) continue; // package.json and other files outside the program
      const to = targetFile(resolved, known);
      const target = moduleOf(to);
      if (target === from) continue;
      if (target === "kernel") continue;
      if (from === "kernel") {
        found.push({ from: file.path, to, rule: "the kernel imports the kernel only" });
        continue;
      }
      const targetRule = MODULES[target];
      if (rule!.never?.includes(target)) {
        found.push({ from: file.path, to, rule: `${from} may not import ${target}` });
      } else if (targetRule?.importedBy && !targetRule.importedBy.includes(from)) {
        found.push({ from: file.path, to, rule: `only ${targetRule.importedBy.join(", ") || "nothing"} may import ${target}` });
      } else if (!allows(rule!.mayImport, target, to)) {
        found.push({ from: file.path, to, rule: `${from} may not import ${target}` });
      } else if (pure && target === "store") {
        found.push({ from: file.path, to, rule: "pure modules do no I/O" });
      }
    }
  }
  return found;
}
