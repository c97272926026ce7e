import { startTestServer, type TestServer } from "./server.js";
import { SocketClient, createRoom, signup, type Caller } from "./client.js";

/** A node of its own with alice (cookie), a public room of hers and one socket of hers; `close` ends it all. */
export interface SoloRoom {
  t: TestServer;
  alice: Caller;
  roomId: string;
  s: SocketClient;
  close: () => Promise<void>;
}

/** Starts a SoloRoom (for a describe block's beforeAll; its afterAll calls `close`). */
export async function soloRoom(): Promise<SoloRoom> {
  const t = await startTestServer();
  const alice = await signup(t.baseUrl, "alice");
  const roomId = await createRoom(alice, "public");
  const s = await SocketClient.connect(t.wsUrl, alice);
  return {
    t,
    alice,
    roomId,
    s,
    close: async () => {
      await s.close();
      await t.destroy();
    },
  };
}
