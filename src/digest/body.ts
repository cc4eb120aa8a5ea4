import type { DigestConfig } from "../config/types.ts";

// Pure: the bytes of a digest delivery. Item bodies are already JSON text (rendered at ingest),
// so they are spliced in as they are: what an item's route produced is exactly what is sent.

export interface DigestBodyInput {
  format: DigestConfig["body"];
  destination: string;
  /** The window (start, end], epoch milliseconds. */
  windowStart: number;
  windowEnd: number;
  /** This part's item bodies, each a JSON text. */
  items: string[];
  /** 1-based; `parts` is how many bodies the window was split into. */
  part: number;
  parts: number;
}

/**
 * `array`: `[item,item,…]`.
 * `envelope`: `{"event":"digest","destination","window":{"start","end"},"part","parts","count","items":[…]}`,
 * with `part`/`parts` only when the window was split; times are ISO 8601 UTC.
 */
export function digestBody(input: DigestBodyInput): string {
  const items = `[${input.items.join(",")}]`;
  if (input.format === "array") return items;
  const head: Record<string, unknown> = {
    event: "digest",
    destination: input.destination,
    window: { start: new Date(input.windowStart).toISOString(), end: new Date(input.windowEnd).toISOString() },
  };
  if (input.parts > 1) {
    head.part = input.part;
    head.parts = input.parts;
  }
  head.count = input.items.length;
  const json = JSON.stringify(head);
  return `${json.slice(0, -1)},"items":${items}}`;
}
