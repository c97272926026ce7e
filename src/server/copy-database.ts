#!/usr/bin/env node
/**
 * `parley copy-database`: copies an installation from its SQLite file to
 * PostgreSQL, and its uploaded files from one storage to another
 * (docs/moving-data.md). Stop the node that uses the SQLite file first:
 * this command does not check. Exits 0 once every table is copied and the
 * counts match, and every file is on the target storage; 1 with a message
 * otherwise. Run again after an interruption, it resumes where it stopped.
 */
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { copyDatabase, CopyCheckError, DEFAULT_BATCH_ROWS, type CopyReport } from "./store/copy.js";
import { copyFiles, FileCopyCheckError, type FileCopyReport } from "./files/copy.js";
import { openFileStorage } from "./files/open-storage.js";
import type { FileStorage } from "./files/storage.js";
import type { z } from "zod";
import { settings, type Config } from "./config.js";

const USAGE = `Usage: node dist/server/copy-database.js --to postgres://user@host/db [--from sqlite:./data/parley.db] [--batch-rows ${DEFAULT_BATCH_ROWS}]
         [--to-storage s3://bucket[/prefix] [--from-storage file:./data/files]]

Copies every table of a Parley SQLite database into an empty PostgreSQL
database, then checks that the row counts on both sides are equal. With
--to-storage, then copies the uploaded files that the target storage does
not hold yet, and checks that every file is there. Either part alone:
give only --to, or only --to-storage.
Stop the Parley node that uses the SQLite file before running this.
Interrupted, run the same command again: it continues where it stopped.

  --from <url>                 the SQLite database (default sqlite:./data/parley.db)
  --to <url>                   the PostgreSQL database (required unless --to-storage is given)
  --batch-rows <n>             rows per transaction (default ${DEFAULT_BATCH_ROWS})
  --from-storage <url>         where the files are: file:<dir> or s3://<bucket>[/<prefix>] (default file:./data/files)
  --to-storage <url>           where to copy them, the same way; without it no file is copied
  --s3-endpoint <url>          an s3:// storage's endpoint when it is not AWS (or PARLEY_S3_ENDPOINT)
  --s3-region <region>         an s3:// storage's region (or PARLEY_S3_REGION; default us-east-1)
  --s3-force-path-style <bool> the bucket in the URL's path (or PARLEY_S3_FORCE_PATH_STYLE; default true)
  -h, --help                   this text

An S3 store's credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
(or the AWS SDK's other sources), never from a flag.
`;

/** One thing being copied, as a progress bar or line shows it. */
interface Step {
  name: string;
  copied: number;
  total: number;
  done: boolean;
}

/** Shows progress: a bar per table (and one for the files) on a terminal, else a line per step per tenth; `unit` counts what is copied. */
function progressReporter(unit: string): { onProgress: (p: Step) => void; finish: () => void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `{table} [{bar}] {percentage}% {value}/{total} ${unit}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let current: string | null = null;
    return {
      onProgress(p) {
        if (current !== p.name) {
          if (current) bar.stop();
          current = p.name;
          bar.start(p.total, Math.min(p.copied, p.total), { table: p.name.padEnd(16) });
        }
        // Rows written to the source after the count was taken would push past 100 %.
        bar.setTotal(Math.max(p.total, p.copied));
        bar.update(p.copied, { table: p.name.padEnd(16) });
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
      const shown = tenths.get(p.name);
      if (shown !== undefined && tenth <= shown) return;
      tenths.set(p.name, tenth);
      process.stderr.write(`${p.name}: ${p.copied}/${p.total} ${unit}${p.done ? ", done" : ""}\n`);
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

/** The files' line of the final counts. */
function filesLine(report: FileCopyReport): string {
  return `files: ${report.source} on the source, ${report.target} of them on the target with their size; ${report.copied} copied by this run (${report.bytes} bytes)\n`;
}

type S3Settings = Pick<Config, "s3Endpoint" | "s3Region" | "s3ForcePathStyle">;
type S3Flags = { "s3-endpoint"?: string; "s3-region"?: string; "s3-force-path-style"?: string };

/**
 * The S3 settings of an s3:// storage, from the same flags and PARLEY_S3_*
 * variables as the server's, parsed by the server's own schemas
 * (config.ts), so a value a node accepts is accepted here.
 * @throws Error naming the flag or variable of a bad value
 */
function s3Settings(flags: S3Flags, env: NodeJS.ProcessEnv): S3Settings {
  const parse = <T>(key: keyof S3Settings, flag: keyof S3Flags, schema: z.ZodType<T>): T => {
    const variable = settings[key].env;
    const fromEnv = env[variable] === "" ? undefined : env[variable];
    const value = flags[flag] ?? fromEnv;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const source = flags[flag] !== undefined ? `--${flag}` : variable;
      throw new Error(`Invalid ${source} = ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    }
    return parsed.data;
  };
  return {
    s3Endpoint: parse("s3Endpoint", "s3-endpoint", settings.s3Endpoint.schema) ?? null,
    s3Region: parse("s3Region", "s3-region", settings.s3Region.schema),
    s3ForcePathStyle: parse("s3ForcePathStyle", "s3-force-path-style", settings.s3ForcePathStyle.schema),
  };
}

/**
 * Opens one side of the files' copy.
 * @throws Error naming the flag, the URL and why
 */
async function openSide(flag: "--from-storage" | "--to-storage", url: string, s3: S3Settings): Promise<FileStorage> {
  if (!settings.storageUrl.schema.safeParse(url).success) throw new Error(`Invalid ${flag} = ${JSON.stringify(url)}: must start with file: or s3://`);
  try {
    return await openFileStorage({ storageUrl: url, ...s3 }, { mustExist: flag === "--from-storage" });
  } catch (err) {
    throw new Error(`cannot open ${flag} ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        from: { type: "string", default: "sqlite:./data/parley.db" },
        to: { type: "string" },
        "batch-rows": { type: "string", default: String(DEFAULT_BATCH_ROWS) },
        "from-storage": { type: "string", default: "file:./data/files" },
        "to-storage": { type: "string" },
        "s3-endpoint": { type: "string" },
        "s3-region": { type: "string" },
        "s3-force-path-style": { type: "string" },
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
  if (!values.to && !values["to-storage"]) {
    process.stderr.write(`copy-database: --to is required (or --to-storage, to copy only the files)\n\n${USAGE}`);
    return 1;
  }
  const batchRows = Number(values["batch-rows"]);
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    process.stderr.write(`copy-database: --batch-rows must be a positive integer, not ${JSON.stringify(values["batch-rows"])}\n`);
    return 1;
  }
  let s3: S3Settings;
  try {
    s3 = s3Settings(values, process.env);
  } catch (err) {
    process.stderr.write(`copy-database: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }

  if (values.to) {
    const progress = progressReporter("rows");
    try {
      const report = await copyDatabase({ from: values.from, to: values.to, batchRows, onProgress: (p) => progress.onProgress({ ...p, name: p.table }) });
      progress.finish();
      process.stdout.write(`${countTable(report)}Copy complete: every table's row count matches and every room's last_seq matches its events.\n`);
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

  const toStorage = values["to-storage"];
  if (toStorage) {
    const progress = progressReporter("files");
    const opened: FileStorage[] = [];
    try {
      const from = await openSide("--from-storage", values["from-storage"], s3);
      opened.push(from);
      const to = await openSide("--to-storage", toStorage, s3);
      opened.push(to);
      const report = await copyFiles({ from, to, onProgress: (p) => progress.onProgress({ name: "files", copied: p.done, total: p.total, done: p.finished }) });
      progress.finish();
      process.stdout.write(`${filesLine(report)}Copy complete: every file of the source is on the target with its size.\n`);
    } catch (err) {
      progress.finish();
      if (err instanceof FileCopyCheckError) {
        process.stdout.write(filesLine(err.report));
        process.stderr.write(`copy-database: the files' copy does not match the source: ${err.message}\n`);
        return 1;
      }
      process.stderr.write(`copy-database: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    } finally {
      await Promise.allSettled(opened.map((storage) => storage.close()));
    }
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`copy-database: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
