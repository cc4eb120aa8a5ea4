// Each dialect's migrations and its drizzle schema describe the same tables: columns (type, nullability, key)
// and every index (columns, uniqueness, condition). A migration or a schema edited alone fails here.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { is, type SQL } from "drizzle-orm";
import { getTableConfig as pgTableConfig, PgDialect, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTableConfig, SQLiteSyncDialect, SQLiteTable } from "drizzle-orm/sqlite-core";
import { join } from "node:path";
import * as pgSchema from "../../src/store/postgres/schema.ts";
import { openPostgresStore } from "../../src/store/postgres/store.ts";
import * as sqliteSchema from "../../src/store/schema.ts";
import { openStore } from "../../src/store/store.ts";
import { postgresEnabled, testSchema } from "../support/postgres.ts";
import { tempDir } from "../support/tmp.ts";

interface Shape {
  columns: string[];
  indexes: string[];
}

/** `name type [not null] [pk]` per column and `[unique] (cols) [where …]` per index, sorted, comparable as text. */
const column = (name: string, type: string, notNull: boolean, pk: boolean) =>
  `${name} ${type.toLowerCase()}${notNull || pk ? " not null" : ""}${pk ? " pk" : ""}`;
const indexText = (name: string, unique: boolean, columns: string[], where: string | null) =>
  `${name}: ${unique ? "unique " : ""}(${columns.join(", ")})${where ? ` where ${normalWhere(where)}` : ""}`;
/** Conditions as both sides print them, without quotes, casts, table prefixes or outer parentheses. */
const normalWhere = (where: string) =>
  where
    .toLowerCase()
    .replace(/"/g, "")
    .replace(/::text/g, "")
    .replace(/\b\w+\./g, "")
    .replace(/^\((.*)\)$/, "$1")
    .replace(/\s+/g, " ")
    .trim();

function drizzleShapes(tables: Record<string, unknown>, kind: "sqlite" | "pg"): Map<string, Shape> {
  const out = new Map<string, Shape>();
  const dialect = kind === "sqlite" ? new SQLiteSyncDialect() : new PgDialect();
  const render = (where: SQL) => dialect.sqlToQuery(where).sql;
  for (const value of Object.values(tables)) {
    if (!(kind === "sqlite" ? is(value, SQLiteTable) : is(value, PgTable))) continue;
    const config = kind === "sqlite" ? sqliteTableConfig(value as SQLiteTable) : pgTableConfig(value as PgTable);
    // A key over several columns is declared on the table, not on its columns.
    const keyed = new Set(config.primaryKeys.flatMap((k) => k.columns.map((c) => c.name)));
    const columns = config.columns.map((c) =>
      column(c.name, kind === "sqlite" ? c.getSQLType() : pgType(c.getSQLType()), c.notNull, c.primary || keyed.has(c.name)),
    );
    const indexes = config.indexes.map((i) =>
      indexText(i.config.name!, i.config.unique, i.config.columns.map((c) => (c as { name: string }).name), i.config.where ? render(i.config.where) : null),
    );
    for (const c of config.columns) if (c.isUnique) indexes.push(indexText("unique", true, [c.name], null));
    out.set(config.name, { columns: columns.sort(), indexes: indexes.sort() });
  }
  return out;
}

/** drizzle's bigserial is a bigint column with a sequence; information_schema says bigint. */
const pgType = (t: string) => (t === "bigserial" ? "bigint" : t);

describe("SQLite", () => {
  test("migrations.ts and schema.ts agree", async () => {
    const tmp = tempDir();
    const store = openStore(join(tmp.dir, "relay.db"));
    const db: Database = store.sqlite;
    const actual = new Map<string, Shape>();
    const tables = db.query<{ name: string }, []>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all();
    for (const { name } of tables) {
      const columns = db
        .query<{ name: string; type: string; notnull: number; pk: number }, []>(`PRAGMA table_info("${name}")`)
        .all()
        .map((c) => column(c.name, c.type, c.notnull === 1, c.pk === 1));
      const indexes = db
        .query<{ name: string; unique: number; origin: string }, []>(`PRAGMA index_list("${name}")`)
        .all()
        .filter((i) => i.origin !== "pk")
        .map((i) => {
          const cols = db.query<{ name: string }, []>(`PRAGMA index_info("${i.name}")`).all().map((c) => c.name);
          const sql = db.query<{ sql: string | null }, []>(`SELECT sql FROM sqlite_master WHERE name = '${i.name}'`).get()?.sql ?? "";
          const where = /\bWHERE\b(.*)$/is.exec(sql)?.[1] ?? null;
          return indexText(i.origin === "u" ? "unique" : i.name, i.unique === 1, cols, where);
        });
      actual.set(name, { columns: columns.sort(), indexes: indexes.sort() });
    }
    await store.close();
    tmp.cleanup();
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(drizzleShapes(sqliteSchema, "sqlite")));
  });
});

(postgresEnabled() ? describe : describe.skip)("PostgreSQL", () => {
  const schema = testSchema("schema");
  afterAll(() => schema.drop());

  test("postgres/migrations.ts and postgres/schema.ts agree", async () => {
    const store = await openPostgresStore({ url: schema.url, pool: 1 });
    const { sql } = store;
    const actual = new Map<string, Shape>();
    const columns = await sql<{ table_name: string; column_name: string; data_type: string; udt_name: string; is_nullable: string }[]>`
      SELECT table_name, column_name, data_type, udt_name, is_nullable FROM information_schema.columns WHERE table_schema = ${store.schema}`;
    const keys = await sql<{ table_name: string; column_name: string }[]>`
      SELECT k.table_name, k.column_name FROM information_schema.table_constraints c
      JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
      WHERE c.table_schema = ${store.schema} AND c.constraint_type = 'PRIMARY KEY'`;
    const pk = new Set(keys.map((k) => `${k.table_name}.${k.column_name}`));
    for (const c of columns) {
      const shape = actual.get(c.table_name) ?? { columns: [], indexes: [] };
      // An array column is data_type ARRAY; its element type is the udt name without the leading underscore.
      const type = c.data_type === "ARRAY" ? `${c.udt_name.replace(/^_/, "")}[]` : c.data_type;
      shape.columns.push(column(c.column_name, type, c.is_nullable === "NO", pk.has(`${c.table_name}.${c.column_name}`)));
      actual.set(c.table_name, shape);
    }
    const indexes = await sql<{ tablename: string; indexname: string; indexdef: string }[]>`
      SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = ${store.schema} AND indexname NOT LIKE '%_pkey'`;
    for (const i of indexes) {
      const m = /^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING \w+ \(([^)]*)\)(?: WHERE (.*))?$/.exec(i.indexdef)!;
      const constraint = i.indexname.endsWith("_key");
      actual.get(i.tablename)!.indexes.push(indexText(constraint ? "unique" : i.indexname, m[1] !== undefined, m[2].split(", "), m[3] ?? null));
    }
    for (const shape of actual.values()) {
      shape.columns.sort();
      shape.indexes.sort();
    }
    await store.close();
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(drizzleShapes(pgSchema, "pg")));
  });
});
