import { unavailable, type Sql, type Tx } from "./connect.ts";
import type { NewDelivery, RecordInput, RecordOutcome } from "../writes.ts";

// The ingest commit on PostgreSQL: a group of records in one transaction, durable before anyone is answered.

/**
 * One commit group, durable before it resolves: on the happy path a single statement (its own transaction); when it
 * fails for a record's own reason, each record is retried in a savepoint so only that one fails.
 */
export async function writeGroup(sql: Sql, group: RecordInput[]): Promise<RecordOutcome[]> {
  try {
    return await writeRecords(sql, group);
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
      return outcomes;
    });
  }
}

/**
 * Inserts the events (a duplicate idempotency key, here or on another instance, inserts nothing: the unique index
 * decides) and the outbox rows of those that were new, in one statement.
 */
async function writeRecords(q: Sql | Tx, group: RecordInput[]): Promise<RecordOutcome[]> {
  // Keys in one order in every group: two instances inserting the same keys wait for each other, never deadlock.
  const events = [...group].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0)).map((r) => r.event);
  const rows = group.flatMap(({ event, deliveries }) => deliveries.map((d) => deliveryRow(event, d, event.receivedAt)));
  const of = <T, K extends keyof T>(list: T[], key: K) => list.map((item) => item[key]);
  // relay_record (migrations.ts): both inserts in one statement with a generic plan.
  const inserted = await q<{ id: string }[]>`
    SELECT id FROM relay_record(
      ${events.map((e) => e.id)}::text[], ${events.map((e) => e.source)}::text[], ${events.map((e) => e.type)}::text[],
      ${events.map((e) => e.receivedAt)}::bigint[], ${events.map((e) => JSON.stringify(e.headers))}::text[],
      ${events.map((e) => e.body)}::text[], ${events.map((e) => e.idempotencyKey ?? null)}::text[],
      ${of(rows, "id")}::text[], ${of(rows, "event_id")}::text[], ${of(rows, "route")}::text[], ${of(rows, "destination")}::text[],
      ${of(rows, "event_type")}::text[], ${of(rows, "status")}::text[], ${of(rows, "body")}::text[],
      ${of(rows, "next_attempt_at")}::bigint[], ${of(rows, "last_error")}::text[], ${of(rows, "created_at")}::bigint[]) AS id`;
  const fresh = new Set(inserted.map((r) => r.id));
  const outcomes: RecordOutcome[] = [];
  for (const { event } of group) {
    if (fresh.delete(event.id)) {
      outcomes.push({ eventId: event.id, duplicate: false });
      continue;
    }
    // Committed by now (ON CONFLICT waited for it): the first event with this key.
    const [existing] = event.idempotencyKey
      ? await q<{ id: string }[]>`SELECT id FROM events WHERE source = ${event.source} AND idempotency_key = ${event.idempotencyKey}`
      : [];
    outcomes.push(existing ? { eventId: existing.id, duplicate: true } : { error: `event id collision: ${event.id}` });
  }
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
