import { describe, expect, test } from "bun:test";
import { getPath, parsePath } from "../../src/routing/path.ts";

const doc = {
  order: {
    id: 17,
    items: [
      { sku: "KB-1", tags: ["a", "b"] },
      { sku: "MS-2", tags: [] },
    ],
    note: null,
    "0": "zero-key",
  },
  list: [[1, 2], [3]],
};

describe("getPath", () => {
  const cases: Array<[string, unknown]> = [
    ["order.id", 17],
    ["order.items.0.sku", "KB-1"],
    ["order.items[0].sku", "KB-1"],
    ["order.items[1].sku", "MS-2"],
    ["order.items.0.tags.1", "b"],
    ["order.items[0].tags[1]", "b"],
    ["list[0][1]", 2],
    ["list.1.0", 3],
    ["order.0", "zero-key"],
    ["order.note", null],
    ["order.items[0]", { sku: "KB-1", tags: ["a", "b"] }],
    ["", doc],
    // missing
    ["order.missing", undefined],
    ["order.items.2.sku", undefined],
    ["order.items[5]", undefined],
    ["order.id.value", undefined],
    ["order.note.x", undefined],
    ["order.items.length", undefined],
    ["order.items.first", undefined],
    // the prototype is never reachable
    ["order.constructor", undefined],
    ["order.__proto__", undefined],
    ["order.toString", undefined],
    // malformed
    ["order..id", undefined],
    ["order.items[x].sku", undefined],
    ["order.items[0", undefined],
    ["order.", undefined],
  ];
  test.each(cases)("%p", (path, expected) => {
    expect(getPath(doc, path)).toEqual(expected);
  });

  test("reading through a primitive or null root gives undefined", () => {
    expect(getPath(null, "a")).toBeUndefined();
    expect(getPath("text", "length")).toBeUndefined();
    expect(getPath(42, "a.b")).toBeUndefined();
  });
});

describe("parsePath", () => {
  test("splits dots and brackets into keys", () => {
    expect(parsePath("a.b[0][12].c")).toEqual(["a", "b", "0", "12", "c"]);
    expect(parsePath("[3].x")).toEqual(["3", "x"]);
    expect(parsePath("")).toEqual([]);
  });
  test("rejects malformed paths", () => {
    for (const bad of ["a..b", ".a", "a[", "a[]", "a[-1]", "a]b", "a[0]x"]) expect(parsePath(bad)).toBeNull();
  });
});
