import type { DestinationConfig, DigestConfig } from "../../src/config/types.ts";
import { newId } from "../../src/ids.ts";
import type { SqliteStore as Store } from "../../src/store/store.ts";
import { destination } from "../support/destination.ts";

/** A destination with a normalised digest block (defaults as the loader documents them). */
export function digestDestination(
  name: string,
  url: string,
  digest: Partial<DigestConfig> = {},
  overrides: Partial<DestinationConfig> = {},
): DestinationConfig {
  return destination(name, url, {
    ...overrides,
    digest: { cron: "0 6 * * *", timezone: "UTC", maxItems: 1000, sendEmpty: false, body: "array", ...digest },
  });
}

/** Records one event whose only outbox row waits for `dest`'s digest; resolves with the row's id once committed. */
export async function hold(store: Store, dest: string, createdAt: number, body: string): Promise<string> {
  const id = newId("dlv", createdAt);
  await store.record(
    { id: newId("evt", createdAt), source: "forms", type: "lead.created", receivedAt: createdAt, headers: {}, body },
    [{ id, route: "leads", destination: dest, status: "held_for_digest", body, nextAttemptAt: createdAt }],
  );
  return id;
}

export interface Row {
  id: string;
  status: string;
  digest_id: string | null;
  event_id: string | null;
  route: string;
  event_type: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
}

export function deliveryRow(store: Store, id: string): Row {
  return store.sqlite.query("SELECT * FROM deliveries WHERE id = $id").get({ id }) as Row;
}

export function rowsWhere(store: Store, where: string): Row[] {
  return store.sqlite.query(`SELECT * FROM deliveries WHERE ${where} ORDER BY created_at, id`).all() as Row[];
}

export function digestRows(store: Store, destination: string) {
  return store.sqlite
    .query("SELECT * FROM digests WHERE destination = $destination ORDER BY window_end, part")
    .all({ destination }) as Array<{
    id: string;
    window_start: number;
    window_end: number;
    part: number;
    parts: number;
    item_count: number;
    delivery_id: string | null;
  }>;
}
