#!/usr/bin/env node
/**
 * `parley copy-database`: copies an installation from its SQLite file to
 * PostgreSQL (docs/moving-data.md). Stop the node that uses the SQLite file
 * first: this command does not check. Exits 0 once every table is copied and
 * the counts match; 1 with a message otherwise. Run again after an
 * interruption, it resumes where it stopped.
 */
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { copyDatabase, CopyCheckError, DEFAULT_BATCH_ROWS, type CopyProgress, type CopyReport } from "./store/copy.js";

const USAGE = `Usage: node dist/server/copy-database.js --to postgres://user@host/db [--from sqlite:./data/parley.db] [--batch-rows ${DEFAULT_BATCH_ROWS}]

Copies every table of a Parley SQLite database into an empty PostgreSQL
database, then checks that the row counts on both sides are equal.
Stop the Parley node that uses the SQLite file before running this.
Interrupted, run the same command again: it continues where it stopped.

  --from <url>        the SQLite database (default sqlite:./data/parley.db)
  --to <url>          the PostgreSQL database (required)
  --batch-rows <n>    rows per transaction (default ${DEFAULT_BATCH_ROWS})
  -h, --help          this text
`;

/** Shows progress: a bar per table on a terminal, else a line per table per tenth. */
function progressReporter(): { onProgress: (p: CopyProgress) => void; finish: () => void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: "{table} [{bar}] {percentage}% {value}/{total} rows", stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let current: string | null = null;
    return {
      onProgress(p) {
        if (current !== p.table) {
          if (current) bar.stop();
          current = p.table;
          bar.start(p.total, Math.min(p.copied, p.total), { table: p.table.padEnd(16) });
        }
        // Rows written to the source after the count was taken would push past 100 %.
        bar.setTotal(Math.max(p.total, p.copied));
        bar.update(p.copied, { table: p.table.padEnd(16) });
        if (p.done) {
          bar.stop();
          current = null;
        }
      },
      finish: () => {
        if (current) bar.stop();
      },
    };
  }
  const tenths = new Map<string, number>();
  return {
    onProgress(p) {
      const tenth = p.done ? 10 : p.total === 0 ? 0 : Math.min(9, Math.floor((p.copied / p.total) * 10));
      const shown = tenths.get(p.table);
      if (shown !== undefined && tenth <= shown) return;
      tenths.set(p.table, tenth);
      process.stderr.write(`${p.table}: ${p.copied}/${p.total} rows${p.done ? ", done" : ""}\n`);
    },
    finish: () => undefined,
  };
}

function countTable(report: CopyReport): string {
  const width = Math.max(5, ...report.tables.map((t) => t.name.length));
  const lines = [`${"table".padEnd(width)}  ${"source".padStart(10)}  ${"target".padStart(10)}`];
  for (const t of report.tables) {
    lines.push(`${t.name.padEnd(width)}  ${String(t.source).padStart(10)}  ${String(t.target).padStart(10)}${t.source === t.target ? "" : "  DIFFERS"}`);
  }
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        from: { type: "string", default: "sqlite:./data/parley.db" },
        to: { type: "string" },
        "batch-rows": { type: "string", default: String(DEFAULT_BATCH_ROWS) },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`copy-database: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.to) {
    process.stderr.write(`copy-database: --to is required\n\n${USAGE}`);
    return 1;
  }
  const batchRows = Number(values["batch-rows"]);
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    process.stderr.write(`copy-database: --batch-rows must be a positive integer, not ${JSON.stringify(values["batch-rows"])}\n`);
    return 1;
  }
  const progress = progressReporter();
  try {
    const report = await copyDatabase({ from: values.from, to: values.to, batchRows, onProgress: progress.onProgress });
    progress.finish();
    process.stdout.write(`${countTable(report)}Copy complete: every table's row count matches and every room's last_seq matches its events.\n`);
    return 0;
  } catch (err) {
    progress.finish();
    if (err instanceof CopyCheckError) {
      process.stdout.write(countTable(err.report));
      process.stderr.write(`copy-database: the copy does not match the source: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`copy-database: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`copy-database: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
