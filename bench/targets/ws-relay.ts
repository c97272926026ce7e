import path from "node:path";
import { BENCH_DIR } from "../lib/proc.js";
import type { ClientSpec } from "../lib/types.js";
import { groupsOf, startServerProcess, type BenchContext, type MessagingSpec, type Prepared, type Target } from "./types.js";

/** The bare `ws` relay (ws-relay-server.mjs): the ceiling Parley is compared with. */

const SERVER = path.join(BENCH_DIR, "targets", "ws-relay-server.mjs");

const start = (ctx: BenchContext) => startServerProcess(ctx, { name: "ws", args: (port) => [SERVER, String(port)], healthPath: "/healthz" });

function clientsFor(port: number, groups: number[][], prefix: string): ClientSpec[] {
  const clients: ClientSpec[] = [];
  groups.forEach((members, g) => {
    const roomId = `${prefix}${g}`;
    members.forEach((index, slot) => {
      clients.push({ index, url: `ws://127.0.0.1:${port}/?room=${roomId}&user=${index}`, roomId, roomSize: members.length, slot });
    });
  });
  return clients.sort((a, b) => a.index - b.index);
}

export const wsRelay: Target = {
  name: "ws",
  protocol: "relay",
  description: "bare `ws` relay: no auth, no persistence, frame serialized once per broadcast (the Node ceiling)",
  async messaging(ctx: BenchContext, spec: MessagingSpec): Promise<Prepared> {
    const t0 = Date.now();
    const server = await start(ctx);
    return { server, clients: clientsFor(server.port, groupsOf(spec), spec.use === "direct" ? "d" : "r"), setup: { startMs: Date.now() - t0 } };
  },
  async connections(ctx: BenchContext, count: number, roomSize: number): Promise<Prepared> {
    const t0 = Date.now();
    const server = await start(ctx);
    return { server, clients: clientsFor(server.port, groupsOf({ clients: count, roomSize, use: "rooms" }), "r"), setup: { startMs: Date.now() - t0 } };
  },
};
