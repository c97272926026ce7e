import { randomBytes } from "node:crypto";

/**
 * Vitest global setup of the suites on PostgreSQL: names this run (test
 * databases are called `parley_test_<run>_…`, test/support/server.ts) and,
 * when the run ends, drops every database of the run that a test left
 * behind (a failed test does not reach its `destroy`).
 */
export default function setup(): () => Promise<void> {
  const run = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  process.env.PARLEY_TEST_RUN_ID = run;
  return async () => {
    const url = process.env.PARLEY_TEST_POSTGRES_URL;
    if (!url) return;
    const { default: pg } = await import("pg");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>("select datname from pg_database where datname like $1", [`parley_test_${run}_%`]);
      for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
    } finally {
      await client.end();
    }
  };
}
