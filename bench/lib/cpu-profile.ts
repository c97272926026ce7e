import fs from "node:fs";

/**
 * Long tasks in a V8 CPU profile (`node --cpu-prof`, the .cpuprofile JSON:
 * nodes with callFrame and children, samples = node ids, timeDeltas in µs):
 * stretches where the main thread sampled no "(idle)" for at least
 * `minMs`, each with the functions that took its samples (self time) and
 * the deepest frames of the project's own code on its hottest stacks. This
 * is how the soak attributes a stall: by the profile, not by a guess.
 *
 *   node --import tsx bench/lib/cpu-profile.ts FILE.cpuprofile [minMs=100]
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface LongTask {
  /** ms since the profile started. */
  startMs: number;
  durationMs: number;
  /**
   * Samples in the task. V8 samples about every `--cpu-prof-interval` µs of
   * wall time while the thread runs; a thread kept off the CPU (a busy
   * machine) takes its samples late, so a task with far fewer samples than
   * its duration ÷ interval was mostly waiting, not working.
   */
  samples: number;
  /** Self time by function ("name file:line"), ms, largest first. */
  selfMs: { frame: string; ms: number }[];
  /** Time by the innermost frame of Parley's own code (src/server, dist) on the stack, ms, largest first: which of our calls the time went under. */
  ownMs: { frame: string; ms: number }[];
}

const IDLE = new Set(["(idle)"]);

function label(f: CallFrame): string {
  const file = f.url.replace(/^file:\/\//, "").replace(/^.*\/(src|dist|node_modules)\//, "$1/");
  return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
}

const isOwn = (f: CallFrame): boolean => /\/(src\/server|parley-bench\/build|dist\/server)\//.test(f.url);

/**
 * The long tasks of `profile`: runs of consecutive samples that are not
 * "(idle)" lasting `minMs` or more ("(program)" and "(garbage collector)"
 * count as busy: the loop is held either way).
 */
export function longTasks(profile: CpuProfile, minMs = 100, top = 8): LongTask[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownOf = new Map<number, string>();
  const ownFrame = (id: number): string => {
    const cached = ownOf.get(id);
    if (cached !== undefined) return cached;
    let at: number | undefined = id;
    let found = "(not under Parley code)";
    while (at !== undefined) {
      const n = byId.get(at)!;
      if (isOwn(n.callFrame)) {
        found = label(n.callFrame);
        break;
      }
      at = parent.get(at);
    }
    ownOf.set(id, found);
    return found;
  };
  const tasks: LongTask[] = [];
  let t = 0;
  let run: { start: number; samples: { id: number; us: number }[] } | null = null;
  const close = (end: number): void => {
    if (!run) return;
    const durationMs = (end - run.start) / 1000;
    if (durationMs >= minMs) {
      const self = new Map<string, number>();
      const own = new Map<string, number>();
      for (const s of run.samples) {
        const f = label(byId.get(s.id)!.callFrame);
        self.set(f, (self.get(f) ?? 0) + s.us / 1000);
        const o = ownFrame(s.id);
        own.set(o, (own.get(o) ?? 0) + s.us / 1000);
      }
      const sorted = (m: Map<string, number>) =>
        [...m.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, top)
          .map(([frame, ms]) => ({ frame, ms: Math.round(ms) }));
      tasks.push({ startMs: Math.round(run.start / 1000), durationMs: Math.round(durationMs), samples: run.samples.length, selfMs: sorted(self), ownMs: sorted(own) });
    }
    run = null;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample: it belongs to sample i.
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    const node = byId.get(profile.samples[i]!)!;
    if (IDLE.has(node.callFrame.functionName)) {
      close(t - dt);
      continue;
    }
    run ??= { start: t - dt, samples: [] };
    run.samples.push({ id: node.id, us: dt });
  }
  close(t);
  return tasks;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: cpu-profile.ts FILE.cpuprofile [minMs]");
  const minMs = Number(process.argv[3] ?? 100);
  const tasks = longTasks(JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile, minMs);
  process.stdout.write(`${tasks.length} long tasks ≥ ${minMs} ms in ${file}\n`);
  // By samples, not duration: a task that waited for the CPU is long but thin (see `samples`).
  for (const task of tasks.sort((a, b) => b.samples - a.samples).slice(0, 25)) {
    process.stdout.write(`\n@${(task.startMs / 1000).toFixed(1)} s: ${task.durationMs} ms, ${task.samples} samples\n  self:\n`);
    for (const s of task.selfMs) process.stdout.write(`    ${String(s.ms).padStart(5)} ms  ${s.frame}\n`);
    process.stdout.write("  under our code:\n");
    for (const s of task.ownMs) process.stdout.write(`    ${String(s.ms).padStart(5)} ms  ${s.frame}\n`);
  }
}
