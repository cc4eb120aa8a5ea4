import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import { interpolate } from "./interpolate.ts";
import { type Issues, type Path, type Position, SourceMap } from "./issues.ts";

// YAML tree → plain values, remembering where each key and value was written; fills ${ENV} on the way.

export interface Located {
  value: unknown;
  positions: SourceMap;
  /** Formatted paths of values that held a ${...} reference. */
  interpolated: Set<string>;
}

const MAX_DEPTH = 64;
const MAX_NODES = 100_000;

// Plain (unquoted) values read as numbers or booleans after interpolation, as if typed in: `port: ${PORT}`.
const INTEGER = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$/;

export function locate(
  doc: Document,
  lines: LineCounter,
  env: Record<string, string | undefined>,
  positions: SourceMap,
  issues: Issues,
): Located {
  const interpolated = new Set<string>();
  let nodes = 0;
  const at = (offset: number | undefined): Position => {
    const p = lines.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };

  const convert = (node: unknown, path: Path, depth: number): unknown => {
    if (++nodes > MAX_NODES || depth > MAX_DEPTH) {
      if (nodes === MAX_NODES + 1 || depth === MAX_DEPTH + 1) issues.add(path, "document is too large or too deeply nested (check for alias loops)");
      return null;
    }
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      positions.setValue(path, at(node.range?.[0]));
      const target = node.resolve(doc);
      if (!target) {
        issues.add(path, `unknown alias "*${node.source}"`);
        return null;
      }
      return convert(target, path, depth + 1);
    }
    const n = node as Node;
    positions.setValue(path, at(n.range?.[0]));
    if (isScalar(n)) {
      if (typeof n.value !== "string") return n.value;
      const r = interpolate(n.value, env);
      for (const name of r.missing) issues.add(path, `environment variable "${name}" is not set`);
      for (const error of r.errors) issues.add(path, error);
      if (!r.changed) return r.value;
      interpolated.add(pathKey(path));
      if (n.type === "PLAIN") {
        if (r.value === "true" || r.value === "false") return r.value === "true";
        if (INTEGER.test(r.value) || FLOAT.test(r.value)) return Number(r.value);
      }
      return r.value;
    }
    if (isSeq(n)) return n.items.map((item, i) => convert(item, [...path, i], depth + 1));
    if (isMap(n)) {
      const out: Record<string, unknown> = {};
      const merges: unknown[] = [];
      for (const pair of n.items) {
        const keyNode = pair.key as Node | null;
        if (isScalar(keyNode) && (keyNode.value === "<<" || keyNode.source === "<<")) {
          merges.push(pair.value);
          continue;
        }
        if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === "object") {
          positions.setValue([...path, "?"], at((keyNode as Node | null)?.range?.[0] ?? n.range?.[0]));
          issues.add([...path, "?"], "keys must be plain strings");
          continue;
        }
        const key = String(keyNode.value);
        const child = [...path, key];
        positions.setKey(child, at(keyNode.range?.[0]));
        const valueNode = pair.value as Node | null;
        // `key:` with nothing after it: point at the key.
        if (!valueNode || (isScalar(valueNode) && valueNode.value === null && valueNode.range?.[0] === valueNode.range?.[1])) {
          positions.setValue(child, at(keyNode.range?.[0]));
        }
        // defineProperty: a key named "__proto__" must stay data, not change the prototype.
        Object.defineProperty(out, key, {
          value: convert(valueNode, child, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      // `<<: *defaults` (or a list of aliases): keys written in this map win, then earlier merges.
      for (const merge of merges) {
        const sources = isSeq(merge) ? merge.items : [merge];
        for (const source of sources) {
          const value = convert(source, path, depth + 1);
          if (value === null || typeof value !== "object" || Array.isArray(value)) {
            issues.add(path, "<< must refer to a map (e.g. <<: *defaults)");
            continue;
          }
          for (const [key, item] of Object.entries(value)) {
            if (!Object.hasOwn(out, key)) Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
          }
        }
      }
      return out;
    }
    issues.add(path, "unsupported YAML value");
    return null;
  };

  const value = convert(doc.contents, [], 0);
  return { value, positions, interpolated };
}

export function pathKey(path: Path): string {
  return JSON.stringify(path);
}
