import postgres from "postgres";

/** The PostgreSQL the PostgreSQL suites run against; unset: they skip. */
export const POSTGRES_URL = process.env.RELAY_TEST_POSTGRES_URL ?? "";
export const HOW_TO_ENABLE =
  "PostgreSQL suites skipped: set RELAY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run them";

let told = false;
/** True when the PostgreSQL suites run; says once per file how to enable them when they do not. */
export function postgresEnabled(): boolean {
  if (!POSTGRES_URL && !told) {
    told = true;
    console.log(HOW_TO_ENABLE);
  }
  return POSTGRES_URL !== "";
}

/**
 * A schema of its own for one test file (several files and worktrees run at once on one database): its URL, and a
 * drop for afterAll.
 */
export function testSchema(label: string): { name: string; url: string; drop: () => Promise<void> } {
  const name = `relay_${label.replace(/\W/g, "_")}_${Math.random().toString(36).slice(2, 10)}`;
  // A skipped suite's body still runs to collect its tests: without PostgreSQL there is nothing to name or drop.
  if (!POSTGRES_URL) return { name, url: "", drop: async () => {} };
  const url = new URL(POSTGRES_URL);
  url.searchParams.set("search_path", name);
  return {
    name,
    url: url.toString(),
    async drop() {
      const sql = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
  };
}
