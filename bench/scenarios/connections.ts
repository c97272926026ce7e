import { LoadGenerator } from "../loadgen/coordinator.js";
import { cpuTimeUs, memoryOf, openFds, sleep, tcpKernelMemory, tcpSlabBytes } from "../lib/proc.js";
import { loadCoreOf, type BenchContext, type Prepared, type Target } from "../targets/types.js";
import type { ConnectionsStep, ConnectionsTargetRun } from "./common.js";

/**
 * connections: idle authenticated sockets, stepped up to the open-file
 * limit. After each step the server is left alone for `settleMs`, then its
 * RSS (VmRSS, what the operator pays for) is read; per socket is
 * (RSS − RSS before any socket) ÷ sockets. The load generator spreads the
 * sockets over several processes: one process cannot hold them all under the
 * same open-file limit.
 */

export interface ConnectionsOptions {
  /** Socket counts, ascending (cumulative). */
  steps: number[];
  roomSize: number;
  /** Sockets per load-generator process (each also needs a few descriptors of its own). */
  clientsPerWorker: number;
  settleMs: number;
  connectConcurrency: number;
}

export async function runConnectionsTarget(ctx: BenchContext, target: Target, opts: ConnectionsOptions): Promise<ConnectionsTargetRun> {
  const max = opts.steps[opts.steps.length - 1] ?? 0;
  const run: ConnectionsTargetRun = {
    target: target.name,
    description: target.description,
    setup: {},
    baselineRssBytes: null,
    baselineKernelTcpBytes: null,
    baselineKernelSlabBytes: null,
    steps: [],
    stoppedBecause: null,
  };
  let prepared: Prepared | null = null;
  let gen: LoadGenerator | null = null;
  try {
    prepared = await target.connections(ctx, max, opts.roomSize);
    run.setup = prepared.setup;
    run.logFile = prepared.server.logFile;
    const pid = prepared.server.pid;
    const workers = Math.max(1, Math.ceil(max / opts.clientsPerWorker));
    gen = await LoadGenerator.start({ protocol: target.protocol, clients: prepared.clients, workers, core: loadCoreOf(ctx), connectConcurrency: opts.connectConcurrency });
    await sleep(opts.settleMs);
    run.baselineRssBytes = memoryOf(pid)?.rss ?? null;
    const tcp0 = tcpKernelMemory();
    run.baselineKernelTcpBytes = tcp0 ? tcp0.memPages * 4096 : null;
    run.baselineKernelSlabBytes = tcpSlabBytes();
    let prevRss = run.baselineRssBytes;
    let prevOpened = 0;
    for (const sockets of opts.steps) {
      const cpu0 = cpuTimeUs(pid) ?? 0;
      const r = await gen.connect(sockets);
      const cpuMs = ((cpuTimeUs(pid) ?? 0) - cpu0) / 1000;
      await sleep(opts.settleMs);
      const rss = memoryOf(pid)?.rss ?? null;
      const tcp = tcpKernelMemory();
      const step: ConnectionsStep = {
        sockets,
        opened: r.opened,
        failed: r.failed,
        firstError: r.firstError,
        connectMs: Math.round(r.ms),
        connectLatency: r.connectLatency,
        serverRssBytes: rss,
        serverFds: openFds(pid),
        rssPerSocketBytes: rss !== null && run.baselineRssBytes !== null && r.opened > 0 ? Math.round((rss - run.baselineRssBytes) / r.opened) : null,
        marginalRssPerSocketBytes: rss !== null && prevRss !== null && r.opened > prevOpened ? Math.round((rss - prevRss) / (r.opened - prevOpened)) : null,
        serverCpuMsToConnect: Math.round(cpuMs),
        kernelTcpBytes: tcp ? tcp.memPages * 4096 : null,
        kernelSlabBytes: tcpSlabBytes(),
      };
      run.steps.push(step);
      ctx.log(
        `${target.name}: ${r.opened} sockets (${r.failed} failed) in ${(r.ms / 1000).toFixed(1)} s, RSS ${mib(rss)} MiB, ` +
          `${step.rssPerSocketBytes ?? "?"} B/socket (marginal ${step.marginalRssPerSocketBytes ?? "?"}), fds ${step.serverFds}`,
      );
      if (r.failed > 0) {
        run.stoppedBecause = `${r.failed} of ${sockets} sockets failed: ${r.firstError}`;
        break;
      }
      prevRss = rss;
      prevOpened = r.opened;
    }
  } catch (err) {
    run.error = (err as Error).stack ?? String(err);
    ctx.log(`${target.name}: failed: ${(err as Error).message}`);
  } finally {
    await gen?.close();
    await prepared?.server.stop();
  }
  return run;
}

const mib = (b: number | null): string => (b === null ? "?" : (b / 2 ** 20).toFixed(1));
