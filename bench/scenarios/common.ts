import type { LatencySummary } from "../lib/hist.js";
import type { MachineInfo } from "../lib/proc.js";
import type { TargetName } from "../lib/types.js";
import type { ConnectResult, StepTotals } from "../loadgen/coordinator.js";
import type { ParleyBreakdown } from "../lib/send-breakdown.js";
import type { UploadsResult } from "./uploads.js";
import type { SoakResult } from "./soak.js";
import type { SearchBenchResult } from "./search.js";

/** Result shapes written to bench/results/<date>-<scenario>.json. */

export type ScenarioName = "room-fanout" | "dm" | "connections" | "history" | "startup" | "soak" | "uploads" | "search";
export const SCENARIO_NAMES: readonly ScenarioName[] = ["room-fanout", "dm", "connections", "history", "startup", "uploads", "search", "soak"];
/** What a run does when no --scenario is given: every scenario but the soak, which is long and run on purpose. */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIO_NAMES.filter((s) => s !== "soak");

export interface MessagingStep extends StepTotals {
  step: number;
  offeredDeliveriesPerSec: number;
  offeredSendsPerSec: number;
  plannedSends: number;
  durationMs: number;
  /** Deliveries counted ÷ send window. */
  achievedDeliveriesPerSec: number;
  /** Expected deliveries (Σ over sends written of room size − 1) − deliveries counted after the drain. */
  lost: number;
  serverCpuMs: number;
  /** Server CPU time (user + system, all threads; all nodes of a multi-node target) from step start to end of drain ÷ deliveries. */
  serverCpuUsPerDelivery: number | null;
  /** Server CPU during the send window, % of one core. */
  serverCpuPct: number;
  serverRssBytes: number | null;
  serverRssPeakBytes: number | null;
  /**
   * CPU used during the step by processes that are not part of the benchmark
   * (other work on a shared machine), % of one core; high values mean noisy numbers.
   */
  backgroundCpuPct: number | null;
  /** How busy the disk was during the step (io_ticks), %: SQLite commits of the target plus anyone else's I/O; fsync latency grows with it. */
  diskBusyPct: number | null;
  /**
   * Time for a fixed piece of work on each core just before the step (ms,
   * lower is faster; see bench/lib/speed.ts): a virtual machine's cores
   * change speed with the host's load, invisibly otherwise.
   */
  coreSpeed: { serverCoreMs: number | null; loadCoreMs: number | null };
  /** How long the harness waited for a quiet machine before the step, and how many times the step ran (a noisy one is repeated; the quietest is kept). */
  quietWaitMs: number;
  attempts: number;
  /**
   * Parley only: where a message's time goes, per message sent, from the
   * server's own send-path metrics and per-thread CPU (bench/lib/send-breakdown.ts);
   * null when there was nothing to divide by or the CPU could not be read.
   */
  parleyBreakdown?: ParleyBreakdown | null;
  /** Multi-node targets: how many node processes `serverCpu*` sums. */
  nodes?: number;
  /**
   * Multi-node targets: CPU per delivery of the processes beside the nodes,
   * by role (nginx: master and worker; redis: every redis-server on the
   * machine; postgres: the backends of the run's database), µs; not in `serverCpuUsPerDelivery`.
   */
  sideCpuUsPerDelivery?: Record<string, number | null>;
  /** socket.io only: CPU of the redis-server process (not pinned by the harness) per delivery. */
  redisCpuUsPerDelivery?: number | null;
  pass: boolean;
  /** Why the step did not pass: p99, loss, errors, closed sockets, load generator saturated. */
  flags: string[];
}

export interface MessagingTargetRun {
  target: TargetName;
  description: string;
  clients: number;
  setup: Record<string, number | string | boolean>;
  connect: ConnectResult | null;
  steps: MessagingStep[];
  /** Highest offered rate that passed, deliveries/s (0 when none did). */
  maxPassingDeliveriesPerSec: number;
  stoppedBecause: string | null;
  error?: string;
  logFile?: string;
}

export interface ConnectionsStep {
  sockets: number;
  opened: number;
  failed: number;
  firstError: string | null;
  connectMs: number;
  connectLatency: LatencySummary;
  serverRssBytes: number | null;
  serverFds: number | null;
  /** (RSS − RSS with no sockets) ÷ sockets open. */
  rssPerSocketBytes: number | null;
  /** RSS growth since the previous step ÷ sockets added. */
  marginalRssPerSocketBytes: number | null;
  serverCpuMsToConnect: number;
  /** Kernel TCP buffer memory of the whole machine (both ends of every loopback socket), bytes. */
  kernelTcpBytes: number | null;
  /** Kernel slab memory of TCP sockets and their inodes, whole machine (both ends), bytes. */
  kernelSlabBytes: number | null;
}

export interface ConnectionsTargetRun {
  target: TargetName;
  description: string;
  setup: Record<string, number | string | boolean>;
  baselineRssBytes: number | null;
  baselineKernelTcpBytes: number | null;
  baselineKernelSlabBytes: number | null;
  steps: ConnectionsStep[];
  stoppedBecause: string | null;
  error?: string;
  logFile?: string;
}

export interface HistoryResult {
  target: TargetName;
  setup: Record<string, number | string | boolean>;
  roomMessages: number;
  newestPage: LatencySummary;
  deepPage: LatencySummary;
  resume: LatencySummary & { eventsPerResume: number };
  serverRssBytes: number | null;
  /** Background CPU (other processes) during the measurements, % of one core, (including the waits for quiet). */
  backgroundCpuPct: number | null;
  error?: string;
}

export interface StartupResult {
  target: TargetName;
  setup: Record<string, number | string | boolean>;
  databaseMessages: number;
  databaseBytes: number;
  /** Time from spawn to the first socket's `ready` frame, each run (ms). */
  runsMs: number[];
  /** Time from spawn to the upgrade being accepted (socket open), each run (ms). */
  openMs: number[];
  medianMs: number;
  maxMs: number;
  /** The same on an empty database, for reference (Node start + module load + migrations). */
  emptyDbRunsMs: number[];
  /** Estimated CPU of other processes during the measured starts (machine busy time beyond one core), % of one core. */
  backgroundCpuPct: number | null;
  error?: string;
}

export interface ScenarioResult {
  scenario: ScenarioName;
  title: string;
  date: string;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: MachineInfo;
  git: { commit: string | null; dirty: boolean | null };
  config: Record<string, unknown>;
  /** How each number was measured, in words (copied into the markdown). */
  method: string[];
  messaging?: MessagingTargetRun[];
  connections?: ConnectionsTargetRun[];
  history?: HistoryResult;
  startup?: StartupResult;
  soak?: SoakResult;
  uploads?: UploadsResult;
  search?: SearchBenchResult;
  /** The bar for this scenario, judged on this run. */
  bar: { check: string; value: string; pass: boolean | null }[];
}
