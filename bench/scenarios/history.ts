import http from "node:http";
import WebSocket from "ws";
import { summarizeSamples } from "../lib/hist.js";
import { cpuTimeUs, machineBusyUs, memoryOf, nowUs } from "../lib/proc.js";
import { waitForQuiet } from "../lib/noise.js";
import { parleyWsUrl, seededFixture, startParley } from "../targets/parley.js";
import type { BenchContext, ServerHandle } from "../targets/types.js";
import type { HistoryResult } from "./common.js";
import { bearerGet } from "../lib/http-get.js";

/**
 * history: one room of `messages` messages (seeded straight into SQLite,
 * then served by Parley as is). One client, one request at a time over a
 * keep-alive connection, so each latency is the server's time for a page
 * plus loopback: GET /api/v1/rooms/:id/messages?limit=50 for the newest
 * page, and with `before=<random seq>` for pages deep in the history. Then
 * `resume` of `resumeEvents` missed events: a fresh socket says it has the
 * room up to head − resumeEvents; the time runs from sending the command to
 * its ack, after which every missed event must have arrived, in order.
 */

export interface HistoryOptions {
  messages: number;
  members: number;
  pages: number;
  resumes: number;
  resumeEvents: number;
}


async function pageLatencies(agent: http.Agent, base: string, token: string, roomId: string, count: number, query: () => string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const q = query();
    const t0 = nowUs();
    const res = await bearerGet(agent, `${base}/api/v1/rooms/${roomId}/messages?${q}`, token);
    const dt = nowUs() - t0;
    if (res.status !== 200) throw new Error(`history ${q}: ${res.status} ${res.body.slice(0, 200)}`);
    if (i === 0) {
      const page = JSON.parse(res.body) as { messages: unknown[] };
      if (page.messages.length !== 50) throw new Error(`history ${q}: expected 50 messages, got ${page.messages.length}`);
    }
    out.push(dt);
  }
  return out;
}

const CREATED = Buffer.from('{"type":"message.created"');
const SEQ_KEY = Buffer.from('"seq":');

/** The event's seq: the first `"seq":` of a message.created frame is the event's own (it precedes the message object). */
function seqOf(frame: Buffer): number {
  const at = frame.indexOf(SEQ_KEY);
  if (at < 0) return NaN;
  let seq = 0;
  for (let i = at + SEQ_KEY.length; i < frame.length; i++) {
    const digit = frame[i]! - 48;
    if (digit < 0 || digit > 9) break;
    seq = seq * 10 + digit;
  }
  return seq;
}

/** One resume on a fresh socket; resolves with its duration (µs) after checking every event arrived in order. */
function resumeOnce(server: ServerHandle, token: string, roomId: string, fromSeq: number, expect: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // Like the load generator, the client reads only what it checks (the seq), so its own parsing does not dominate the time.
    const ws = new WebSocket(parleyWsUrl(server), { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false, skipUTF8Validation: true });
    let t0 = 0;
    let got = 0;
    let lastSeq = fromSeq;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`resume timed out after ${got} events`));
    }, 30_000);
    ws.on("message", (data: Buffer) => {
      if (data.subarray(0, CREATED.length).equals(CREATED)) {
        const seq = seqOf(data);
        if (seq !== lastSeq + 1) reject(new Error(`resume: seq ${seq} after ${lastSeq}`));
        lastSeq = seq;
        got++;
        return;
      }
      const text = data.toString();
      if (text.startsWith('{"type":"ready"')) {
        t0 = nowUs();
        ws.send(JSON.stringify({ type: "resume", id: "r", rooms: { [roomId]: fromSeq } }));
        return;
      }
      if (text.startsWith('{"type":"ack"') || text.startsWith('{"type":"error"')) {
        const dt = nowUs() - t0;
        clearTimeout(timer);
        ws.close();
        if (!text.startsWith('{"type":"ack"')) reject(new Error(`resume refused: ${text.slice(0, 200)}`));
        else if (got !== expect) reject(new Error(`resume: ${got} events, expected ${expect}`));
        else resolve(dt);
      }
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function cpuOfSelf(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export async function runHistory(ctx: BenchContext, opts: HistoryOptions): Promise<HistoryResult> {
  const fixture = await seededFixture(ctx, { users: opts.members, roomSize: opts.members, messages: opts.messages });
  const room = fixture.meta.rooms[0]!;
  const token = fixture.meta.users[room.members[0]!]!.token;
  const t0 = Date.now();
  const server = await startParley(ctx, fixture.dataDir, { timeoutMs: 120_000 });
  const setup = { ...fixture.setup, startMs: Date.now() - t0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const lastSeq = room.lastSeq;
    const firstMessageSeq = lastSeq - room.messages + 1;
    const randomBefore = () => `before=${firstMessageSeq + 50 + Math.floor(Math.random() * (room.messages - 50))}&limit=50`;
    // Warm-up: JIT and SQLite page cache, as on a server that has been up a while.
    await pageLatencies(agent, server.httpUrl, token, room.id, Math.min(200, opts.pages), () => "limit=50");
    await pageLatencies(agent, server.httpUrl, token, room.id, Math.min(200, opts.pages), randomBefore);
    const busy0 = machineBusyUs();
    const ours0 = (cpuTimeUs(server.pid) ?? 0) + cpuOfSelf();
    const wall0 = Date.now();
    await waitForQuiet([server.pid], ctx.quiet, ctx.log);
    const newest = await pageLatencies(agent, server.httpUrl, token, room.id, opts.pages, () => "limit=50");
    await waitForQuiet([server.pid], ctx.quiet, ctx.log);
    const deep = await pageLatencies(agent, server.httpUrl, token, room.id, opts.pages, randomBefore);
    ctx.log(`parley history: newest p50 ${summarizeSamples(newest).p50} p99 ${summarizeSamples(newest).p99} ms; deep p50 ${summarizeSamples(deep).p50} p99 ${summarizeSamples(deep).p99} ms`);
    const resumes: number[] = [];
    await resumeOnce(server, token, room.id, lastSeq - opts.resumeEvents, opts.resumeEvents);
    await waitForQuiet([server.pid], ctx.quiet, ctx.log);
    for (let i = 0; i < opts.resumes; i++) resumes.push(await resumeOnce(server, token, room.id, lastSeq - opts.resumeEvents, opts.resumeEvents));
    const resume = summarizeSamples(resumes);
    const busy1 = machineBusyUs();
    const ours1 = (cpuTimeUs(server.pid) ?? 0) + cpuOfSelf();
    const backgroundCpuPct = busy0 !== null && busy1 !== null ? Math.max(0, Math.round((busy1 - busy0 - (ours1 - ours0)) / (Date.now() - wall0) / 10)) : null;
    ctx.log(`parley resume of ${opts.resumeEvents}: p50 ${resume.p50} p99 ${resume.p99} ms (background ${backgroundCpuPct}% of a core)`);
    return {
      target: "parley",
      setup,
      roomMessages: room.messages,
      newestPage: summarizeSamples(newest),
      deepPage: summarizeSamples(deep),
      resume: { ...resume, eventsPerResume: opts.resumeEvents },
      serverRssBytes: memoryOf(server.pid)?.rss ?? null,
      backgroundCpuPct,
    };
  } finally {
    agent.destroy();
    await server.stop();
  }
}
