import { describe, expect, test } from "bun:test";
import { interpolate } from "../../src/config/interpolate.ts";
import { closest, didYouMean, editDistance, formatPath } from "../../src/config/issues.ts";

describe("interpolate", () => {
  const env = { A: "1", EMPTY: "" };

  test.each([
    ["plain", "plain", false],
    ["${A}", "1", true],
    ["x${A}y${A}", "x1y1", true],
    ["${EMPTY}", "", true],
    ["${EMPTY:-d}", "d", true],
    ["${UNSET:-d}", "d", true],
    ["${UNSET:-}", "", true],
    ["${UNSET:-a b:c}", "a b:c", true],
    ["$${A}", "${A}", true],
    ["$$${A}", "$${A}", true],
    ["$A and $ and $$", "$A and $ and $$", false],
  ] as const)("%p → %p", (text, value, changed) => {
    const r = interpolate(text, env);
    expect(r).toEqual({ value, changed, missing: [], errors: [] });
  });

  test("unset variables without a default are listed", () => {
    expect(interpolate("${X}-${A}-${Y}", env)).toEqual({ value: "-1-", changed: true, missing: ["X", "Y"], errors: [] });
  });

  test("malformed references are errors", () => {
    expect(interpolate("${}", env).errors).toHaveLength(1);
    expect(interpolate("${A B}", env).errors).toHaveLength(1);
    expect(interpolate("${A", env).errors).toEqual(['unterminated "${" (write "$${" for a literal "${")']);
  });
});

describe("formatPath", () => {
  test.each([
    [["routes", 2, "to"], "routes[2].to"],
    [["destinations", "crm", "retry", 1], "destinations.crm.retry[1]"],
    [["sources", "shop", "verify", "secret"], "sources.shop.verify.secret"],
    [["destinations", "crm", "headers", "Content.Type"], 'destinations.crm.headers["Content.Type"]'],
    [["sources", "my shop"], 'sources["my shop"]'],
    [[], ""],
  ] as const)("%p → %p", (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe("did you mean", () => {
  test("suggests the nearest candidate within a few edits", () => {
    expect(closest("timout", ["timeout", "url", "headers"])).toBe("timeout");
    expect(closest("retyr", ["retry", "url"])).toBe("retry");
    expect(closest("URL", ["url"])).toBe("url");
    expect(closest("colour", ["timeout", "url"])).toBeUndefined();
    expect(didYouMean("shp", ["shop", "chat"])).toBe(' (did you mean "shop"?)');
    expect(didYouMean("zzz", ["shop"])).toBe("");
  });

  test("edit distance counts a swap as one edit", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("retry", "retyr")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });
});
