import { spawnSync } from "node:child_process";
import { hasTaskset } from "./proc.js";

/**
 * How fast a core is right now: milliseconds for a fixed piece of work
 * (integer arithmetic and SHA-1 of small buffers) in a fresh Node process
 * pinned to that core; lower is faster. A virtual machine's cores change
 * speed with the host's load (other guests, shared caches) in ways that no
 * counter inside the guest shows; this number, taken before each step, shows
 * it. Null when it cannot be measured.
 */

const SCRIPT = `
const { createHash } = require("crypto");
function work() { let x = 0; for (let i = 0; i < 3e6; i++) x = (x * 1103515245 + 12345) | 0; const b = Buffer.alloc(1024); for (let i = 0; i < 2000; i++) createHash("sha1").update(b).digest(); return x; }
work();
const t = process.hrtime.bigint(); work(); work();
process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));
`;

export function coreSpeedMs(core: number | null): number | null {
  const args = ["-e", SCRIPT];
  const r = core !== null && hasTaskset ? spawnSync("taskset", ["-c", String(core), process.execPath, ...args], { encoding: "utf8", timeout: 10_000 }) : spawnSync(process.execPath, args, { encoding: "utf8", timeout: 10_000 });
  const ms = Number(r.stdout);
  return r.status === 0 && Number.isFinite(ms) ? Math.round(ms * 10) / 10 : null;
}
