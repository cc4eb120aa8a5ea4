// An event as routing and transforms see it: parsed once at ingest, never mutated.
export interface InboundEvent {
  id: string; // evt_…
  source: string; // source name
  type: string;
  receivedAt: number; // epoch ms
  /** Lower-case header names; every header but credentials and the verified signature (a deny-list) is stored. */
  headers: Record<string, string>;
  /** Parsed JSON body. */
  body: unknown;
  /** The body exactly as received (passthrough sends these bytes). */
  rawBody: string;
  /** Values of the source's declared variables (defaults applied). */
  variables: Record<string, unknown>;
}
