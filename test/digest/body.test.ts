import { describe, expect, test } from "bun:test";
import { digestBody } from "../../src/digest/body.ts";

// Spacing and key order that JSON.stringify would not reproduce: a re-serialised item would differ.
const LEAD = '{"SerialNumber":"L-1", "Type":"Lead","FirstName":"Zoë","SessionID":12}';
const APPOINTMENT = '{ "Type": "Appointment", "CreateTime": "2026-11-23T05:59:59.000Z", "Amount": 1.50 }';

const base = {
  destination: "crm",
  windowStart: Date.UTC(2026, 10, 22, 5, 0, 0),
  windowEnd: Date.UTC(2026, 10, 23, 5, 0, 0),
  items: [LEAD, APPOINTMENT],
  part: 1,
  parts: 1,
};

describe("digestBody", () => {
  test("array: the item bodies spliced byte for byte into one JSON array", () => {
    const body = digestBody({ ...base, format: "array" });
    expect(body).toBe(`[${LEAD},${APPOINTMENT}]`);
    expect(JSON.parse(body)).toHaveLength(2);
  });

  test("array: an empty window is []", () => {
    expect(digestBody({ ...base, format: "array", items: [] })).toBe("[]");
  });

  test("envelope: event, destination, window in ISO UTC, count, then the raw items", () => {
    expect(digestBody({ ...base, format: "envelope" })).toBe(
      '{"event":"digest","destination":"crm","window":{"start":"2026-11-22T05:00:00.000Z","end":"2026-11-23T05:00:00.000Z"},' +
        `"count":2,"items":[${LEAD},${APPOINTMENT}]}`,
    );
  });

  test("envelope: a split window says which part of how many", () => {
    const body = digestBody({ ...base, format: "envelope", items: [APPOINTMENT], part: 2, parts: 3 });
    expect(body).toBe(
      '{"event":"digest","destination":"crm","window":{"start":"2026-11-22T05:00:00.000Z","end":"2026-11-23T05:00:00.000Z"},' +
        `"part":2,"parts":3,"count":1,"items":[${APPOINTMENT}]}`,
    );
    expect(JSON.parse(body).items[0].Amount).toBe(1.5);
  });

  test("envelope: an empty window and a destination name that needs escaping stay valid JSON", () => {
    const body = digestBody({ ...base, format: "envelope", destination: 'crm "eu"', items: [] });
    expect(JSON.parse(body)).toEqual({
      event: "digest",
      destination: 'crm "eu"',
      window: { start: "2026-11-22T05:00:00.000Z", end: "2026-11-23T05:00:00.000Z" },
      count: 0,
      items: [],
    });
  });
});
