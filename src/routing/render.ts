import type { TransformConfig } from "../config/types.ts";
import { errorMessage } from "../errors.ts";
import { isoTime } from "./dates.ts";
import type { InboundEvent } from "./event.ts";
import { renderJsonata } from "./jsonata.ts";
import { renderValue } from "./template.ts";

// What a route sends: the body string, exactly the bytes that will be signed and posted. Pure:
// never throws, never does I/O; a failure is a value ({ ok: false }).

export type Rendered = { ok: true; body: string } | { ok: false; error: string };

export async function render(transform: TransformConfig, event: InboundEvent): Promise<Rendered> {
  try {
    switch (transform.mode) {
      case "envelope":
        return {
          ok: true,
          body: JSON.stringify({ event: event.type, timestamp: isoTime(event.receivedAt), data: event.body }),
        };
      case "passthrough":
        return { ok: true, body: event.rawBody };
      case "template":
        return { ok: true, body: JSON.stringify(renderValue(transform.template, event, "")) };
      case "jsonata":
        return await renderJsonata(transform.expression, event);
      default:
        return { ok: false, error: `unknown transform mode ${JSON.stringify((transform as { mode: unknown }).mode)}` };
    }
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}
