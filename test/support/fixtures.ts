import { startTestServer, type TestServer } from "./server.js";
import { SocketClient, createRoom, signup, signupBot, type Caller } from "./client.js";

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

/**
 * A node of its own with three people: alice (cookie) owns a public room and
 * a private one; bob (Bearer) is a member of both; carol is in neither. For
 * tests of what members may do and non-members may not; `overrides` configure the node.
 */
export interface ThreePeople {
  t: TestServer;
  alice: Caller;
  bob: Caller;
  carol: Caller;
  roomId: string;
  privateRoom: string;
}

export async function threePeople(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<ThreePeople> {
  const t = await startTestServer(overrides);
  const [alice, carol] = await Promise.all([signup(t.baseUrl, "alice"), signup(t.baseUrl, "carol")]);
  const bob = await signupBot(t.baseUrl, "bob");
  const roomId = await createRoom(alice, "public");
  const privateRoom = await createRoom(alice, "private");
  const joined = await bob.post(`/rooms/${roomId}/join`);
  const added = await alice.post(`/rooms/${privateRoom}/members`, { userId: bob.user.id });
  if (joined.status !== 200 || added.status !== 201) throw new Error(`threePeople: join ${joined.status}, add ${added.status}`);
  return { t, alice, bob, carol, roomId, privateRoom };
}
