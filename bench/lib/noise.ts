import { cpuTimeUs, machineBusyUs, sleep } from "./proc.js";

/**
 * Background load: CPU used by processes that are not part of the run. On a
 * shared machine (other people's builds and tests) it competes with the
 * pinned server and load generator for the same two cores, and inflates
 * latencies. The harness measures it on every step, waits for a quiet
 * machine before a step (within a time budget for the whole run), and
 * repeats a step that was noisy.
 */

export interface QuietPolicy {
  /** Background CPU (% of one core) under which the machine counts as quiet. */
  quietPct: number;
  /** A step whose background was above this is repeated (up to `retries` times). */
  noisyPct: number;
  retries: number;
  /** Longest wait for quiet before one step. */
  maxWaitMs: number;
  /** Total waiting allowed over the whole run (keeps the suite's time bounded); decremented. */
  budgetMs: number;
}

export function defaultQuietPolicy(quick: boolean): QuietPolicy {
  return { quietPct: 20, noisyPct: 35, retries: quick ? 0 : 1, maxWaitMs: quick ? 5_000 : 30_000, budgetMs: quick ? 30_000 : 300_000 };
}

/** CPU of our own processes (µs): the given pids plus this process. */
function oursUs(pids: number[]): number {
  const self = process.cpuUsage();
  return pids.reduce((a, p) => a + (cpuTimeUs(p) ?? 0), 0) + self.user + self.system;
}

/** Background CPU over the next `windowMs`, % of one core (null off Linux). */
export async function measureBackground(pids: number[], windowMs: number): Promise<number | null> {
  const b0 = machineBusyUs();
  const o0 = oursUs(pids);
  const t0 = Date.now();
  await sleep(windowMs);
  const b1 = machineBusyUs();
  const o1 = oursUs(pids);
  if (b0 === null || b1 === null) return null;
  return Math.max(0, Math.round((b1 - b0 - (o1 - o0)) / (Date.now() - t0) / 10));
}

/** Waits until the background is under `quietPct` or the wait runs out; returns the last reading. */
export async function waitForQuiet(pids: number[], policy: QuietPolicy, log: (s: string) => void): Promise<{ waitedMs: number; backgroundPct: number | null }> {
  const t0 = Date.now();
  let pct = await measureBackground(pids, 500);
  let told = false;
  while (pct !== null && pct > policy.quietPct && Date.now() - t0 < policy.maxWaitMs && policy.budgetMs - (Date.now() - t0) > 0) {
    if (!told) {
      log(`  machine busy (background ${pct}% of a core): waiting up to ${Math.round(Math.min(policy.maxWaitMs, policy.budgetMs) / 1000)} s for quiet`);
      told = true;
    }
    pct = await measureBackground(pids, 1000);
  }
  const waitedMs = Date.now() - t0;
  policy.budgetMs = Math.max(0, policy.budgetMs - Math.max(0, waitedMs - 500));
  return { waitedMs, backgroundPct: pct };
}
