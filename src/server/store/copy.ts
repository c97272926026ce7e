import fs from "node:fs";
import path from "node:path";
import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Database } from "./schema.js";
import { openStore, type Store } from "./store.js";
import { migrationProvider } from "./migrations/index.js";

/**
 * Copies a whole installation from SQLite to PostgreSQL (docs/moving-data.md).
 *
 * Each table is read from the source in primary-key order, `batchRows` rows
 * at a time (keyset pagination: memory stays bounded whatever the size),
 * and each batch is inserted on PostgreSQL in one transaction together with
 * the table's resume point in `parley_copy_progress`. The resume point is
 * the source's last key, in the source's order: PostgreSQL may sort text
 * under another collation, so "the highest key on the target" would not
 * say where SQLite's order stopped. A run that is interrupted resumes after
 * the last committed batch; `on conflict do nothing` keeps a replayed row
 * from being stored twice.
 */

/**
 * Every table of schema.ts with its primary key, in copy order: parents
 * before children, as the foreign keys of migrations 0001–0007 require
 * (users ← sessions, api_tokens, rooms.created_by, room_members,
 * messages.author_id, reactions; rooms ← everything keyed by room_id).
 * Typed over `keyof Database`, so a table added to schema.ts without a
 * place here fails the type check. The search index's tables are not
 * copied: the target builds its own index from the copied messages
 * (search/backfill.ts, at its first start), in its own dialect's form.
 */
type CopiedTable = Exclude<keyof Database, SearchTable>;
type SearchTable = "search_documents" | "search_backfill" | "search_words";
export const COPY_TABLES: { readonly [T in CopiedTable]: readonly (keyof Database[T] & string)[] } = {
  users: ["id"],
  sessions: ["token_hash"],
  api_tokens: ["id"],
  rooms: ["id"],
  room_members: ["room_id", "user_id"],
  messages: ["room_id", "seq"],
  room_events: ["room_id", "seq"],
  message_edits: ["room_id", "seq"],
  reactions: ["message_id", "emoji", "user_id"],
  reaction_events: ["message_id", "seq"],
  message_mentions: ["user_id", "room_id", "seq"],
  uploads: ["id"],
  notification_settings: ["user_id"],
  push_subscriptions: ["id"],
  email_notifications: ["user_id", "message_id"],
  installation_secrets: ["name"],
};

const TABLE_NAMES = Object.keys(COPY_TABLES) as CopiedTable[];

/** Tables of the source that are bookkeeping, not data, or the search index (rebuilt on the target). */
const NOT_COPIED = /^(kysely_migration|kysely_migration_lock|sqlite_.*|search_.*)$/;

const PROGRESS_TABLE = "parley_copy_progress";

/** PostgreSQL accepts at most 65,535 parameters in one statement: a batch is split below that. */
const MAX_PARAMETERS = 30_000;

export const DEFAULT_BATCH_ROWS = 1000;

/** Where a table's copy stands, as handed to `onProgress`. */
export interface CopyProgress {
  table: string;
  /** Source rows copied so far, this run and earlier ones. */
  copied: number;
  /** Source rows of the table when this run reached it. */
  total: number;
  done: boolean;
}

export interface CopyOptions {
  /** `sqlite:<file>`; the file must exist. */
  from: string;
  /** `postgres://…` or `postgresql://…`: an empty database, or one this copy was writing to. */
  to: string;
  /** Rows read and inserted per transaction (default 1000). */
  batchRows?: number;
  /** Called when a table starts, after each committed batch, and when a table is done; an error it throws stops the copy (the committed batches stay). */
  onProgress?: (progress: CopyProgress) => void;
}

/** Row counts of one table on both sides. */
export interface TableCount {
  name: string;
  source: number;
  target: number;
}

/** A room whose `last_seq` on the target is not the highest seq of its events, or whose events have gaps. */
export interface SeqMismatch {
  roomId: string;
  lastSeq: number;
  maxSeq: number;
  events: number;
}

export interface CopyReport {
  tables: TableCount[];
  /** At most 20 rooms breaking the seq invariant on the target. */
  seqMismatches: SeqMismatch[];
  /** Every count equal and no seq mismatch. */
  ok: boolean;
}

/** The copy finished but the check found a difference; `report` says where. */
export class CopyCheckError extends Error {
  constructor(readonly report: CopyReport) {
    const tables = report.tables.filter((t) => t.source !== t.target).map((t) => `${t.name} (source ${t.source}, target ${t.target})`);
    const rooms = report.seqMismatches.map((r) => `${r.roomId} (last_seq ${r.lastSeq}, max seq ${r.maxSeq}, ${r.events} events)`);
    super(
      [tables.length ? `row counts differ: ${tables.join(", ")}` : "", rooms.length ? `rooms whose last_seq does not match their events: ${rooms.join(", ")}` : ""]
        .filter(Boolean)
        .join("; "),
    );
    this.name = "CopyCheckError";
  }
}

type Row = Record<string, unknown>;
/** The same database seen with table names chosen at run time. */
type AnyTables = Record<string, Row>;

/**
 * Copies every table of `from` (SQLite) into `to` (PostgreSQL), then checks
 * the row counts and every room's `last_seq`.
 *
 * Both databases are opened with openStore, so both are migrated to this
 * code's latest schema first. Run again after an interruption, it resumes
 * after the last committed batch.
 * @returns the check, with `ok: true`.
 * @throws Error for a bad URL, a missing source file, migrations that differ
 *   from this code's, or a target holding data that this copy did not write;
 *   CopyCheckError when the final check finds a difference; whatever
 *   `onProgress` throws.
 */
export async function copyDatabase(opts: CopyOptions): Promise<CopyReport> {
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error(`batchRows must be a positive integer, not ${batchRows}`);
  const { source, target } = await openBoth(opts.from, opts.to);
  try {
    await refuseUnknownTables(source);
    const sourceId = await sourceIdentity(source);
    await claimTarget(target, sourceId);
    for (const table of TABLE_NAMES) await copyTable(source, target, table, COPY_TABLES[table], sourceId, batchRows, opts.onProgress);
    // Statistics for the planner now, not when autovacuum gets to it: the first node's queries (the search backfill's walk
    // of a million messages among them) would otherwise be planned for empty tables.
    await sql`analyze`.execute(target.db);
    const report = await compareStores(source, target);
    if (!report.ok) throw new CopyCheckError(report);
    return report;
  } finally {
    await Promise.allSettled([source.close(), target.close()]);
  }
}

/**
 * Only the final check of copyDatabase: row counts of every table on both
 * sides and every room's `last_seq` against its events on the target.
 * Opens both like copyDatabase does (and so migrates them).
 * @returns the report; `ok: false` on a difference (it does not throw for one).
 * @throws Error for a bad URL, a missing source file or differing migrations.
 */
export async function checkCopy(opts: { from: string; to: string }): Promise<CopyReport> {
  const { source, target } = await openBoth(opts.from, opts.to);
  try {
    return await compareStores(source, target);
  } finally {
    await Promise.allSettled([source.close(), target.close()]);
  }
}

async function openBoth(from: string, to: string): Promise<{ source: Store; target: Store }> {
  if (!from.startsWith("sqlite:") || from === "sqlite::memory:") throw new Error(`The source must be a SQLite file URL (sqlite:<file>), not ${JSON.stringify(from)}`);
  if (!/^postgres(ql)?:\/\//.test(to)) throw new Error(`The target must be a PostgreSQL URL (postgres://…), not ${JSON.stringify(redact(to))}`);
  const file = from.slice("sqlite:".length);
  // openStore would create an empty database, and the copy would "succeed" with nothing in it.
  if (!fs.existsSync(file)) throw new Error(`The source database ${path.resolve(file)} does not exist`);
  let source: Store;
  try {
    source = await openStore(from, { sqliteSynchronous: "full" });
  } catch (err) {
    throw new Error(`Could not open the source ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let target: Store;
  try {
    target = await openStore(to, { sqliteSynchronous: "full" });
  } catch (err) {
    await source.close();
    throw new Error(`Could not open the target ${redact(to)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    await requireLatestMigrations(source, "source");
    await requireLatestMigrations(target, "target");
  } catch (err) {
    await Promise.allSettled([source.close(), target.close()]);
    throw err;
  }
  return { source, target };
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

async function requireLatestMigrations(store: Store, side: "source" | "target"): Promise<void> {
  const expected = Object.keys(await migrationProvider(store.dialect).getMigrations()).sort();
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db);
  const applied = rows.map((r) => r.name);
  if (applied.join(",") !== expected.join(",")) {
    throw new Error(
      `The ${side}'s applied migrations (${applied.join(", ") || "none"}) differ from this version's (${expected.join(", ")}): ` +
        `open the ${side} with this version of Parley first`,
    );
  }
}

/** A table in the source that this code does not know would be left behind silently: refuse instead. */
async function refuseUnknownTables(source: Store): Promise<void> {
  const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(source.db);
  const unknown = rows.map((r) => r.name).filter((name) => !NOT_COPIED.test(name) && !(name in COPY_TABLES));
  if (unknown.length) throw new Error(`The source has tables this version does not copy: ${unknown.join(", ")}`);
}

/**
 * What tells this installation from another: its first user's id (UUID v7,
 * time-ordered, so later sign-ups never come before it). Stored with the
 * progress, so a resumed copy cannot continue from a different source.
 */
async function sourceIdentity(source: Store): Promise<string> {
  const first = await source.db.selectFrom("users").select(["id", "created_at"]).orderBy("id").limit(1).executeTakeFirst();
  return first ? `${first.id}@${first.created_at}` : "no users";
}

/**
 * Makes sure the target is empty or holds a copy of this same source under
 * way or done, then creates the progress table. An operator must not merge
 * two installations by pointing the copy at a database already in use.
 */
async function claimTarget(target: Store, sourceId: string): Promise<void> {
  const { rows: exists } = await sql<{ name: string | null }>`select to_regclass(${PROGRESS_TABLE})::text as name`.execute(target.db);
  const sources = exists[0]?.name
    ? (await sql<{ source_id: string }>`select distinct source_id from ${sql.table(PROGRESS_TABLE)}`.execute(target.db)).rows.map((r) => r.source_id)
    : [];
  const foreign = sources.filter((s) => s !== sourceId);
  if (foreign.length) {
    throw new Error(
      `The target holds a copy of another installation (first user ${foreign.join(", ")}, this source's is ${sourceId}): ` +
        `copy into an empty PostgreSQL database`,
    );
  }
  if (sources.length === 0) {
    const filled: string[] = [];
    for (const table of TABLE_NAMES) {
      const { rows } = await sql<{ found: boolean }>`select exists (select 1 from ${sql.table(table)}) as found`.execute(target.db);
      if (rows[0]?.found) filled.push(table);
    }
    if (filled.length) {
      throw new Error(
        `The target already holds data that this copy did not write (${filled.join(", ")} not empty): ` +
          `copy into an empty PostgreSQL database, so that two installations are never merged`,
      );
    }
  }
  await sql`create table if not exists ${sql.table(PROGRESS_TABLE)} (
    table_name text primary key,
    source_id text not null,
    last_key text,
    rows_done bigint not null,
    done boolean not null
  )`.execute(target.db);
}

interface ProgressRow {
  last_key: string | null;
  rows_done: string | number;
  done: boolean;
}

async function copyTable(
  source: Store,
  target: Store,
  table: keyof Database,
  key: readonly string[],
  sourceId: string,
  batchRows: number,
  onProgress: CopyOptions["onProgress"],
): Promise<void> {
  const { rows: saved } = await sql<ProgressRow>`select last_key, rows_done, done from ${sql.table(PROGRESS_TABLE)} where table_name = ${table}`.execute(target.db);
  let cursor = saved[0]?.last_key ? (JSON.parse(saved[0].last_key) as unknown[]) : null;
  let copied = Number(saved[0]?.rows_done ?? 0);
  const total = await countRows(source.db, table);
  if (saved[0]?.done) {
    onProgress?.({ table, copied, total, done: true });
    return;
  }
  onProgress?.({ table, copied, total, done: false });
  const keyList = sql.join(key.map((c) => sql.ref(c)));
  const loose = target.db as unknown as Kysely<AnyTables>;
  for (;;) {
    const after: RawBuilder<unknown> = cursor ? sql`where (${keyList}) > (${sql.join(cursor)})` : sql``;
    const { rows } = await sql<Row>`select * from ${sql.table(table)} ${after} order by ${keyList} limit ${batchRows}`.execute(source.db);
    const last = rows.at(-1);
    const done = rows.length < batchRows;
    if (last) {
      cursor = key.map((c) => last[c]);
      copied += rows.length;
    }
    const lastKey = cursor ? JSON.stringify(cursor) : null;
    await loose.transaction().execute(async (trx) => {
      const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / Object.keys(rows[0] ?? { x: 0 }).length));
      for (let i = 0; i < rows.length; i += perStatement) {
        await trx.insertInto(table).values(rows.slice(i, i + perStatement)).onConflict((oc) => oc.doNothing()).execute();
      }
      await sql`insert into ${sql.table(PROGRESS_TABLE)} (table_name, source_id, last_key, rows_done, done)
        values (${table}, ${sourceId}, ${lastKey}, ${copied}, ${done})
        on conflict (table_name) do update set last_key = excluded.last_key, rows_done = excluded.rows_done, done = excluded.done`.execute(trx);
    });
    onProgress?.({ table, copied, total, done });
    if (done) return;
  }
}

async function countRows(db: Kysely<Database>, table: string): Promise<number> {
  const { rows } = await sql<{ n: string | number }>`select count(*) as n from ${sql.table(table)}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

async function compareStores(source: Store, target: Store): Promise<CopyReport> {
  const tables: TableCount[] = [];
  for (const name of TABLE_NAMES) tables.push({ name, source: await countRows(source.db, name), target: await countRows(target.db, name) });
  // Seqs are per room, from 1, with no gaps (DESIGN.md invariant 4): a room's event count, its highest seq and last_seq agree.
  const { rows } = await sql<{ room_id: string; last_seq: number; max_seq: number | string; events: number | string }>`
    select r.id as room_id, r.last_seq, coalesce(max(e.seq), 0) as max_seq, count(e.seq) as events
    from rooms r left join room_events e on e.room_id = r.id
    group by r.id, r.last_seq
    having r.last_seq <> coalesce(max(e.seq), 0) or r.last_seq <> count(e.seq)
    order by r.id
    limit 20`.execute(target.db);
  const seqMismatches = rows.map((r) => ({ roomId: r.room_id, lastSeq: Number(r.last_seq), maxSeq: Number(r.max_seq), events: Number(r.events) }));
  return { tables, seqMismatches, ok: seqMismatches.length === 0 && tables.every((t) => t.source === t.target) };
}
