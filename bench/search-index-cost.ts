/**
 * `node --import tsx bench/search-index-cost.ts [messages]`: what indexing a
 * message for search (issue 18) costs the send path, in CPU, measured in
 * this process where a loaded machine cannot blur it (a benchmark's server
 * CPU per delivery moves by more than the difference on a shared machine).
 *
 * 1. The whole send, in process: a node on a scratch SQLite file (no
 *    listener needed), `messages` messages sent through
 *    services.messages.send, 8 at a time (group commits of about 8, as at a
 *    few thousand messages/s), with process CPU time (user + system, all
 *    threads) per message.
 * 2. The indexing alone: the same texts indexed by search/indexing.ts's
 *    `indexMessage` steps in transactions of 8 on another scratch file, CPU
 *    per message.
 * For two kinds of text: the messaging benchmarks' 64-character bodies and
 * the search scenario's English (3 to 30 words).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@server/config.js";
import { createServer } from "@server/app.js";
import { openStore } from "@server/store/store.js";
import { runStepsSync } from "@server/store/steps.js";
import { indexMessage } from "@server/search/indexing.js";
import { newId, nowIso } from "@server/store/ids.js";
import type { Actor } from "@server/deps.js";
import { ENGLISH_WORDS } from "./scenarios/search-words.js";

const N = Number(process.argv[2] ?? 5000);
const PER_BATCH = 8;

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** The messaging benchmarks' body: `~<step>.<send time µs>.<slot>.<counter>.` padded with x to 64 characters. */
const benchBody = (i: number): string => `~3000.${Math.round(performance.now() * 1000)}.${i % 1000}.${i}.`.padEnd(64, "x");
/** English of 3 to 30 words from the search scenario's vocabulary, roughly Zipf by rank. */
const englishBody = (i: number): string => {
  const n = 3 + ((i * 7919) % 12);
  const words: string[] = [];
  for (let k = 0; k < n; k++) words.push(ENGLISH_WORDS[Math.floor(Math.pow(((i * 31 + k * 17) % 997) / 997, 3) * ENGLISH_WORDS.length)]!);
  return words.join(" ");
};

async function sendCost(body: (i: number) => string): Promise<number> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-index-cost-"));
  const config = loadConfig({ values: { dataDir, port: 0, host: "127.0.0.1", logLevel: "silent", sqliteSynchronous: "normal" } });
  const server = await createServer(config);
  try {
    const session = await server.services.auth.signup({ email: "cost@example.test", username: "cost", password: "bench-Quokka-harness-7", passwordConfirm: "bench-Quokka-harness-7" });
    const actor: Actor = { userId: session.user.id, via: "token", credentialHash: "bench", csrfToken: null, expiresAt: null };
    const room = await server.services.rooms.create(actor, { name: "cost", kind: "public" });
    // Warm-up: JIT, statement cache.
    for (let i = 0; i < 500; i += PER_BATCH) await Promise.all(Array.from({ length: PER_BATCH }, (_, k) => server.services.messages.send(actor, room.id, body(i + k), null)));
    const t0 = cpuUs();
    for (let i = 0; i < N; i += PER_BATCH) await Promise.all(Array.from({ length: PER_BATCH }, (_, k) => server.services.messages.send(actor, room.id, body(i + k), null)));
    return (cpuUs() - t0) / N;
  } finally {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function indexCost(body: (i: number) => string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-index-cost-"));
  const store = await openStore(`sqlite:${path.join(dir, "parley.db")}`, { sqliteSynchronous: "normal" });
  const sync = store.sync!;
  const run = (from: number, count: number): void => {
    for (let i = from; i < from + count; i += PER_BATCH) {
      sync.begin();
      for (let k = 0; k < PER_BATCH; k++) {
        runStepsSync(sync.run, indexMessage(store.dialect, { id: newId(), roomId: "0193a1b2-0000-7000-8000-000000000001", authorId: "u", createdAt: nowIso(), body: body(i + k), attachments: null }));
      }
      sync.commit();
    }
  };
  try {
    run(0, 500);
    const t0 = cpuUs();
    run(0, N);
    return (cpuUs() - t0) / N;
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const [name, body] of [["64-character benchmark bodies", benchBody], ["English, 3 to 30 words", englishBody]] as const) {
  const send = await sendCost(body);
  const index = await indexCost(body);
  process.stdout.write(`${name}: send ${send.toFixed(1)} µs CPU per message in process, of which indexing ${index.toFixed(1)} µs (${((100 * index) / send).toFixed(1)} %)\n`);
}
