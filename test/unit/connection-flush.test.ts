import { describe, expect, it } from "vitest";
import pino from "pino";
import type { WebSocket } from "ws";
import type { Socket } from "node:net";
import { Connection } from "@server/realtime/connection.js";

/**
 * Writes to an ended socket (issue 16 item 15b, the soak's profile): under
 * churn a socket is often ended by the time its turn's frames are flushed,
 * and each write to it made Node build and emit an error with its stack.
 */

function connection(socket: Partial<Socket> & { write: (b: Buffer) => boolean }) {
  const ws = { OPEN: 1, readyState: 1, on: () => undefined, close: () => undefined, terminate: () => undefined };
  return new Connection(
    "c",
    { userId: "u", via: "token", credentialHash: "h", csrfToken: null, expiresAt: null },
    ws as unknown as WebSocket,
    socket as unknown as Socket,
    () => Promise.resolve([]),
    pino({ level: "silent" }),
    { sendBufferBytes: 1 << 20, scheduleFlush: () => undefined, index: { add: () => undefined, remove: () => undefined }, onBacklog: () => undefined },
  );
}

describe("Connection.flush", () => {
  it("writes nothing to a socket that has ended, and drops the queued frames", () => {
    const writes: Buffer[] = [];
    const socket = { destroyed: false, writableEnded: false, writableLength: 0, cork: () => undefined, uncork: () => undefined, write: (b: Buffer) => writes.push(b) > 0 };
    const c = connection(socket);
    c.start('{"type":"ready"}');
    c.flush();
    expect(writes).toHaveLength(1); // ready, while open

    c.send('{"type":"ack","id":"a"}');
    socket.writableEnded = true; // the peer's FIN ended it during this turn
    c.flush();
    expect(writes).toHaveLength(1);
    expect(c.bufferedBytes).toBe(0);
  });
});
