import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./proc.js";

/**
 * Fixtures that are slow to make (accounts signed up over HTTP, a database
 * seeded with a million messages) are built once and kept under
 * bench/.cache/, keyed by their parameters and by the source files that
 * decide their content (the migrations, the token hashing, the seed code).
 * A run copies the cached files into its own scratch directory, so the
 * cached copy is never written by a server.
 */

/** SHA-1 of the given files and directories (recursively), plus `extra`. */
export function sourceHash(relPaths: string[], extra: unknown): string {
  const h = crypto.createHash("sha1");
  const visit = (abs: string) => {
    if (!fs.existsSync(abs)) return;
    const st = fs.statSync(abs);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) visit(path.join(abs, name));
    } else {
      h.update(path.relative(REPO_ROOT, abs));
      h.update(fs.readFileSync(abs));
    }
  };
  for (const rel of relPaths) visit(path.join(REPO_ROOT, rel));
  h.update(JSON.stringify(extra));
  return h.digest("hex").slice(0, 12);
}

/**
 * The directory holding fixture `name-key`: built by `build(dir)` on a miss
 * (into a temporary sibling, renamed when complete so a crash leaves no
 * half-built fixture). With `cacheDir` null it is built in `scratch` every time.
 */
export async function cachedFixture(
  cacheDir: string | null,
  scratch: string,
  name: string,
  key: string,
  build: (dir: string) => Promise<void>,
): Promise<{ dir: string; hit: boolean; buildMs: number }> {
  const base = cacheDir ?? scratch;
  const dir = path.join(base, `${name}-${key}`);
  if (cacheDir && fs.existsSync(path.join(dir, ".complete"))) {
    fs.writeFileSync(path.join(dir, ".last-used"), new Date().toISOString());
    return { dir, hit: true, buildMs: 0 };
  }
  const tmp = `${dir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const t0 = Date.now();
  await build(tmp);
  fs.writeFileSync(path.join(tmp, ".complete"), new Date().toISOString());
  fs.writeFileSync(path.join(tmp, ".last-used"), new Date().toISOString());
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  if (cacheDir) prune(cacheDir, name);
  return { dir, hit: false, buildMs: Date.now() - t0 };
}

/** Fixtures of one name kept in the cache (the rest, least recently used first, are removed). */
const KEEP_PER_NAME = 6;

/**
 * Removes half-built fixtures of processes that are gone, and all but the
 * KEEP_PER_NAME most recently used fixtures of `name` (a seeded database is
 * a gigabyte; every change to the schema or frame format makes a new one).
 */
function prune(cacheDir: string, name: string): void {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const entries = fs.readdirSync(cacheDir).filter((e) => e.startsWith(`${name}-`));
  for (const e of entries) {
    const m = /\.building-(\d+)$/.exec(e);
    if (m && !alive(Number(m[1]))) fs.rmSync(path.join(cacheDir, e), { recursive: true, force: true });
  }
  const complete = entries
    .filter((e) => !e.includes(".building-") && fs.existsSync(path.join(cacheDir, e, ".complete")))
    .map((e) => {
      const marker = path.join(cacheDir, e, ".last-used");
      return { e, used: fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : fs.statSync(path.join(cacheDir, e)).mtimeMs };
    })
    .sort((a, b) => b.used - a.used);
  for (const { e } of complete.slice(KEEP_PER_NAME)) fs.rmSync(path.join(cacheDir, e), { recursive: true, force: true });
}

/** Copies a fixture's files (not its marker) into a fresh directory under `scratch`. */
export function copyFixture(fixtureDir: string, scratch: string, name: string): string {
  const dest = fs.mkdtempSync(path.join(scratch, `${name}-`));
  for (const entry of fs.readdirSync(fixtureDir)) {
    if (entry === ".complete" || entry === ".last-used") continue;
    fs.cpSync(path.join(fixtureDir, entry), path.join(dest, entry), { recursive: true });
  }
  return dest;
}
