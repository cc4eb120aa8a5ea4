import { unavailable, type Sql, type Tx } from "./connect.ts";
import type { NewDelivery, RecordInput, RecordOutcome } from "../writes.ts";

// The ingest commit on PostgreSQL: a group of records in one transaction, durable before anyone is answered.

/** Wake-up hints for every Relay on one database; the payload is the schema, so Relays in other schemas ignore them. */
export const WAKE_CHANNEL = "relay_wake";

/** One commit group in one transaction; a record that fails is retried alone in a savepoint so only it fails. */
export async function writeGroup(sql: Sql, schema: string, group: RecordInput[]): Promise<RecordOutcome[]> {
  try {
    return await sql.begin(async (tx) => {
      const outcomes = await writeRecords(tx, group);
      await tx`SELECT pg_notify(${WAKE_CHANNEL}, ${schema})`;
      return outcomes;
    });
  } catch (error) {
    // A lost connection fails every record alike (a 503); anything else is some record's own fault.
    if (unavailable(error) !== error) throw error;
    if (group.length === 1) return [{ error: messageOf(error) }];
    return sql.begin(async (tx) => {
      const outcomes: RecordOutcome[] = [];
      for (const record of group) {
        try {
          outcomes.push((await tx.savepoint((sp) => writeRecords(sp, [record])))[0]);
        } catch (e) {
          outcomes.push({ error: messageOf(e) });
        }
      }
      await tx`SELECT pg_notify(${WAKE_CHANNEL}, ${schema})`;
      return outcomes;
    });
  }
}

/**
 * Inserts the events (a duplicate idempotency key, here or on another instance, inserts nothing: the unique index
 * decides), then the outbox rows of those that were new, in two statements for the whole group.
 */
async function writeRecords(tx: Tx, group: RecordInput[]): Promise<RecordOutcome[]> {
  // Keys in one order in every group: two instances inserting the same keys wait for each other, never deadlock.
  const byKey = [...group].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const inserted = await tx<{ id: string }[]>`
    INSERT INTO events ${tx(
      byKey.map(({ event: e }) => ({
        id: e.id,
        source: e.source,
        type: e.type,
        received_at: e.receivedAt,
        headers: JSON.stringify(e.headers),
        body: e.body,
        idempotency_key: e.idempotencyKey ?? null,
      })),
      "id", "source", "type", "received_at", "headers", "body", "idempotency_key",
    )}
    ON CONFLICT DO NOTHING RETURNING id`;
  const fresh = new Set(inserted.map((r) => r.id));
  const outcomes: RecordOutcome[] = [];
  const rows: ReturnType<typeof deliveryRow>[] = [];
  for (const { event, deliveries } of group) {
    if (fresh.has(event.id)) {
      fresh.delete(event.id);
      for (const d of deliveries) rows.push(deliveryRow(event, d, event.receivedAt));
      outcomes.push({ eventId: event.id, duplicate: false });
      continue;
    }
    const [existing] = event.idempotencyKey
      ? await tx<{ id: string }[]>`SELECT id FROM events WHERE source = ${event.source} AND idempotency_key = ${event.idempotencyKey}`
      : [];
    outcomes.push(existing ? { eventId: existing.id, duplicate: true } : { error: `event id collision: ${event.id}` });
  }
  if (rows.length > 0) await tx`INSERT INTO deliveries ${tx(rows, ...DELIVERY_COLUMNS)}`;
  return outcomes;
}

function keyOf({ event }: RecordInput): string {
  return event.idempotencyKey ? `${event.source}\u0000${event.idempotencyKey}` : "";
}

const DELIVERY_COLUMNS = [
  "id", "event_id", "route", "destination", "event_type", "status", "body", "attempts", "next_attempt_at", "last_error", "created_at",
] as const;

function deliveryRow(event: { id: string; type: string }, d: NewDelivery, createdAt: number) {
  return {
    id: d.id,
    event_id: event.id,
    route: d.route,
    destination: d.destination,
    event_type: event.type,
    status: d.status,
    body: d.body,
    attempts: 0,
    next_attempt_at: d.nextAttemptAt,
    last_error: d.lastError ?? null,
    created_at: createdAt,
  };
}

export async function insertDeliveries(tx: Tx, event: { id: string; type: string }, rows: NewDelivery[], createdAt: number) {
  await tx`INSERT INTO deliveries ${tx(rows.map((d) => deliveryRow(event, d, createdAt)), ...DELIVERY_COLUMNS)}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
