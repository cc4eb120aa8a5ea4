import type { InboundEvent } from "../../src/routing/event.ts";

/** An inbound event as ingest would build it; `rawBody` defaults to the compact JSON of `body`. */
export function inbound(overrides: Partial<InboundEvent> = {}): InboundEvent {
  const body = overrides.body ?? {};
  return {
    id: "evt_01HV0000000000000000000000",
    source: "shop",
    type: "order.created",
    receivedAt: Date.UTC(2024, 2, 10, 9, 15, 30, 250),
    headers: {},
    variables: {},
    ...overrides,
    body,
    rawBody: overrides.rawBody ?? JSON.stringify(body),
  };
}
