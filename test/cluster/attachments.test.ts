import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, unique, type Caller } from "../support/client.js";
import { callerOn, installation, startNode, type Installation } from "../support/cluster.js";
import { startTestS3, type TestS3 } from "../support/s3.js";
import { pendingUpload } from "../support/uploads.js";
import type { AckFrame } from "@shared/protocol/frames.js";
import type { Message } from "@shared/protocol/entities.js";

/**
 * Two nodes sharing one S3-compatible store (issue 17 item 6): a file
 * uploaded through one node is sent, seen live and downloaded through the
 * other; deleting the message through the second removes the object for
 * both. The store is s3rver, a real S3 protocol server (test/support/s3.ts).
 */
describe("attachments on two nodes sharing S3 storage", () => {
  let s3: TestS3;
  let inst: Installation;
  let a: TestServer;
  let b: TestServer;
  let alice: Caller;
  let bob: Caller;
  let roomId: string;

  beforeAll(async () => {
    s3 = await startTestS3();
    // The SDK reads its credentials from the environment, as a node in production does.
    for (const [k, v] of Object.entries(s3.env)) vi.stubEnv(k, v);
    inst = await installation();
    const storage = { storageUrl: s3.storageUrl, s3Endpoint: s3.endpoint, s3ForcePathStyle: "true", storageShared: "false" } as const;
    [a, b] = [await startNode(inst, storage), await startNode(inst, storage)];
    alice = await signup(a.baseUrl, "alice");
    bob = callerOn(await signup(a.baseUrl, "bob"), b.baseUrl);
    roomId = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${roomId}/members`, { userId: bob.user.id })).status).toBe(201);
  });
  afterAll(async () => {
    await a?.destroy();
    await b?.destroy();
    await inst?.drop();
    await s3?.stop();
    vi.unstubAllEnvs();
  });

  it("a file uploaded and sent through one node is delivered live and served by the other; deleting it removes it for both", async () => {
    const sb = await SocketClient.connect(b.wsUrl, bob);
    try {
      const upload = await pendingUpload(a, alice, { kind: "image" });
      // Pending: only its owner reads it, on either node.
      expect((await fetch(`${b.baseUrl}${upload.url}`, { headers: { authorization: `Bearer ${bob.bearer ?? ""}`, cookie: bob.cookie ?? "" } })).status).toBe(404);
      const sa = await SocketClient.connect(a.wsUrl, alice);
      const ack = (await sa.command({ type: "message.send", roomId, body: "", clientId: `f-${unique()}`, attachments: [upload.id] })) as AckFrame & { message: Message };
      await sa.close();
      expect(ack.type).toBe("ack");
      const got = await sb.waitFor((f) => f.type === "message.created" && f.message.id === ack.message.id);
      expect(got.type === "message.created" && got.message.attachments?.map((x) => x.id)).toEqual([upload.id]);

      // Node B reads the object node A stored: the same bytes as node A serves.
      const fromA = await fetch(`${a.baseUrl}${upload.url}`, { headers: { cookie: alice.cookie ?? "" } });
      const fromB = await fetch(`${b.baseUrl}${upload.url}`, { headers: { cookie: bob.cookie ?? "" } });
      expect(fromA.status).toBe(200);
      expect(fromB.status).toBe(200);
      const bytes = Buffer.from(await fromB.arrayBuffer());
      expect(bytes.equals(Buffer.from(await fromA.arrayBuffer()))).toBe(true);
      expect(fromB.headers.get("content-type")).toBe("image/png");
      // And it is the image as processed at upload (a PNG of the uploaded size), not something else.
      expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
      expect(upload.width).toBe(64);

      // Deleted through node B: gone from the store, so node A answers 404 too.
      const del = await fetch(`${b.baseUrl}/api/v1/rooms/${roomId}/messages/${ack.message.id}`, {
        method: "DELETE",
        headers: { cookie: alice.cookie ?? "", "x-csrf-token": alice.csrfToken ?? "" },
      });
      expect(del.status).toBe(200);
      expect((await fetch(`${a.baseUrl}${upload.url}`, { headers: { cookie: alice.cookie ?? "" } })).status).toBe(404);
      const left: string[] = [];
      for await (const o of a.server.files.list()) left.push(o.key);
      expect(left.filter((k) => k.includes(upload.id))).toEqual([]);
    } finally {
      await sb.close();
    }
  });
});
