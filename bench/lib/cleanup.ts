import type { ChildProcess } from "node:child_process";

/**
 * Every child process the harness starts (servers, workers) is tracked
 * here and killed if the harness exits early (an error, Ctrl-C), so no
 * server is left holding a port or a core.
 */

const children = new Set<ChildProcess>();
const finalizers = new Set<() => void>();
let installed = false;

/** Runs `fn` (synchronous) when the CLI is interrupted, e.g. to remove scratch directories. */
export function onInterrupt(fn: () => void): () => void {
  finalizers.add(fn);
  return () => finalizers.delete(fn);
}

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (!installed) {
    installed = true;
    process.once("exit", killAll);
  }
  return child;
}

/** For the CLI only: Ctrl-C and termination kill the children too. */
export function killChildrenOnSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}: stopping its servers and load generators\n`);
      killAll();
      for (const fn of finalizers) {
        try {
          fn();
        } catch {
          // best effort
        }
      }
      process.exit(130);
    });
  }
}
