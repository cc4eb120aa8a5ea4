// The one reader of dot paths into parsed JSON: `order.items.0.sku`, `order.items[0].sku`.

const SEGMENT = /^([^[\]]*)((?:\[\d+\])*)$/;

/**
 * Splits a path into keys; `a.b[0][1]` → ["a", "b", "0", "1"]. The empty path is [].
 * Returns null when the path is malformed (empty segment, unbalanced or non-numeric brackets).
 */
export function parsePath(path: string): string[] | null {
  if (path === "") return [];
  const keys: string[] = [];
  for (const segment of path.split(".")) {
    const m = SEGMENT.exec(segment);
    if (!m) return null;
    const [, name, brackets] = m;
    if (name === "" && brackets === "") return null;
    if (name !== "") keys.push(name);
    for (const index of brackets.matchAll(/\[(\d+)\]/g)) keys.push(index[1]);
  }
  return keys;
}

/** The value at `path` inside `value`, or undefined when any step is missing or the path is malformed. */
export function getPath(value: unknown, path: string): unknown {
  const keys = parsePath(path);
  return keys === null ? undefined : getKeys(value, keys);
}

/** The value reached by following already-parsed keys (see parsePath). */
export function getKeys(value: unknown, keys: readonly string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(key)) return undefined;
      current = current[Number(key)];
    } else if (current !== null && typeof current === "object") {
      // Own properties only: `constructor` or `__proto__` must not reach into the prototype.
      if (!Object.hasOwn(current, key)) return undefined;
      current = (current as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return current;
}
