import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import pino from "pino";
import type { TestServer } from "../support/server.js";
import { startTestServer } from "../support/server.js";
import { SocketClient, createRoom, postMessage, signup, type Caller } from "../support/client.js";
import { threePeople } from "../support/fixtures.js";
import { isStored, pendingUpload, storageKeysOf } from "../support/uploads.js";
import type { AckFrame, ErrorFrame, ServerFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse, RepliesResponse } from "@shared/protocol/http.js";
import type { Message, Room } from "@shared/protocol/entities.js";
import type { Attachment } from "@shared/protocol/attachments.js";
import type { ErrorBody } from "@shared/protocol/errors.js";
import { FileSweeper } from "@server/files/sweeper.js";
import { attachUploads } from "@server/messages/attachments.js";
import { ClusterMembership } from "@server/bus/nodes.js";
import { MemoryBus } from "@server/bus/memory.js";

/**
 * Messages that carry files (issue 17), over a real server on both
 * transports: a send names its sender's pending uploads and they become the
 * message's, live for every member, in history and in what `resume`
 * replays; what may not be sent is refused with nothing stored; deleting the
 * message deletes its files; the sweeper removes what nothing needs.
 */
describe("messages with attachments", () => {
  let t: TestServer;
  let alice: Caller; // owner of the rooms (cookie)
  let bob: Caller; // a member (Bearer)
  let carol: Caller; // in no room
  let roomId: string; // public

  const upload = (as: Caller, kind: "image" | "audio" | "file" = "file"): Promise<Attachment> => pendingUpload(t, as, { kind });
  const uploadStates = async (ids: string[]) =>
    Object.fromEntries(
      (await t.server.store.db.selectFrom("uploads").select(["id", "state", "room_id", "message_id"]).where("id", "in", ids).execute()).map((r) => [
        r.id,
        { state: r.state, roomId: r.room_id, messageId: r.message_id },
      ]),
    );
  const pending = { state: "pending", roomId: null, messageId: null };
  const lastSeq = async (room: string): Promise<number> => (await alice.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;
  const history = async (as: Caller, room: string): Promise<Message[]> => {
    const res = await as.get<HistoryResponse>(`/rooms/${room}/messages?limit=100`);
    expect(res.status).toBe(200);
    return res.body.messages;
  };
  const privateRoomWithBob = async (): Promise<string> => {
    const room = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
    return room;
  };
  const createdOf = (s: SocketClient, messageId: string) =>
    s.waitFor<Extract<ServerFrame, { type: "message.created" }>>((f) => f.type === "message.created" && f.message.id === messageId);

  beforeAll(async () => {
    // Tests upload far more than a person would in a minute: the upload rate is tested in uploads.test.ts.
    ({ t, alice, bob, carol, roomId } = await threePeople({ uploadsPerMinute: 100_000 }));
  });
  afterAll(() => t.destroy());

  it("two files over the socket and one over HTTP reach every member live with their attachments; history and the room list show them", async () => {
    const room = await privateRoomWithBob();
    const [a, b] = await Promise.all([SocketClient.connect(t.wsUrl, alice), SocketClient.connect(t.wsUrl, bob)]);
    const photo = await upload(alice, "image");
    const doc = await upload(alice);
    const ack = (await a.command({ type: "message.send", roomId: room, body: "two files", clientId: "files-1", attachments: [photo.id, doc.id] })) as AckFrame;
    expect(ack.type).toBe("ack");
    const sent = ack.message!;
    // In the order named, as the upload answered them.
    expect(sent.attachments).toEqual([photo, doc]);
    expect(photo).toMatchObject({ kind: "image", url: `/api/v1/files/${photo.id}`, thumbnailUrl: `/api/v1/files/${photo.id}/thumbnail`, width: 64, height: 48 });
    for (const s of [a, b]) expect((await createdOf(s, sent.id)).message).toEqual(sent);

    const clip = await upload(bob, "audio");
    const res = await bob.post<{ message: Message }>(`/rooms/${room}/messages`, { body: "one file", clientId: "files-2", attachments: [clip.id] });
    expect(res.status).toBe(201);
    expect(res.body.message.attachments).toEqual([clip]);
    for (const s of [a, b]) expect((await createdOf(s, res.body.message.id)).message).toEqual(res.body.message);

    // The uploads are the messages' now: attached in their room.
    expect(await uploadStates([photo.id, doc.id, clip.id])).toEqual({
      [photo.id]: { state: "attached", roomId: room, messageId: sent.id },
      [doc.id]: { state: "attached", roomId: room, messageId: sent.id },
      [clip.id]: { state: "attached", roomId: room, messageId: res.body.message.id },
    });
    // A history page adds the reactions, which answers and events leave out.
    for (const as of [alice, bob]) {
      expect(await history(as, room)).toEqual([
        { ...sent, reactions: [] },
        { ...res.body.message, reactions: [] },
      ]);
    }
    const rooms = await alice.get<{ rooms: Room[] }>("/rooms");
    expect(rooms.body.rooms.find((r) => r.id === room)?.lastMessage?.attachments).toEqual([clip]);
    // Every frame matched the protocol's schemas.
    expect([...a.invalid, ...b.invalid]).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it("a resume from before the send replays its message.created once, with its attachments", async () => {
    const room = await privateRoomWithBob();
    const start = await lastSeq(room);
    const files = [await upload(alice, "image"), await upload(alice)];
    const m = await postMessage(alice, room, "see attached", { attachments: files.map((f) => f.id) });
    await postMessage(alice, room, "and a plain one");

    const b = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b.command({ type: "resume", rooms: { [room]: start } })) as AckFrame;
    expect(ack.rooms).toEqual({ [room]: start + 2 });
    const created = b.frames.filter((f) => f.type === "message.created" && f.roomId === room);
    expect(created.map((f) => (f.type === "message.created" ? [f.seq, f.message.id] : []))).toEqual([
      [m.seq, m.id],
      [m.seq + 1, expect.any(String)],
    ]);
    expect(created[0]).toMatchObject({ message: { attachments: files } });
    expect(created[1]).not.toHaveProperty("message.attachments");
    expect(b.invalid).toEqual([]);
    await b.close();
  });

  it("a send retried with its clientId answers the first copy: stored once, files attached once, another upload named by the retry left pending", async () => {
    const room = await privateRoomWithBob();
    const a = await SocketClient.connect(t.wsUrl, alice);
    const file = await upload(alice);
    const send = (attachments: string[]) => a.command({ type: "message.send", roomId: room, body: "", clientId: "retry-files", attachments });
    const first = (await send([file.id])) as AckFrame;
    expect(first.message?.attachments).toEqual([file]);
    const head = await lastSeq(room);

    expect(await send([file.id])).toMatchObject({ type: "ack", message: first.message });
    const other = await upload(alice);
    expect(await send([other.id])).toMatchObject({ type: "ack", message: first.message });
    const overHttp = await alice.post<{ message: Message }>(`/rooms/${room}/messages`, { clientId: "retry-files", attachments: [file.id] });
    expect(overHttp.status).toBe(201);
    expect(overHttp.body.message).toEqual(first.message);

    expect(await lastSeq(room)).toBe(head);
    expect(await uploadStates([file.id, other.id])).toEqual({
      [file.id]: { state: "attached", roomId: room, messageId: first.message!.id },
      [other.id]: pending,
    });
    expect(a.frames.filter((f) => f.type === "message.created" && f.roomId === room)).toHaveLength(1);
    await a.close();
  });

  it("a message with files is edited (its text only), replied to and reacted to like any other", async () => {
    const room = await privateRoomWithBob();
    const b = await SocketClient.connect(t.wsUrl, bob);
    const files = [await upload(alice, "image")];
    const m = await postMessage(alice, room, "first caption", { attachments: files.map((f) => f.id) });

    const edited = await alice.request<{ message: Message }>("PATCH", `/rooms/${room}/messages/${m.id}`, { body: "second caption" });
    expect(edited.status).toBe(200);
    expect(edited.body.message).toMatchObject({ body: "second caption", attachments: files });
    const ev = await b.waitFor((f) => f.type === "message.edited" && f.message.id === m.id);
    expect(ev).toMatchObject({ message: { body: "second caption", attachments: files } });

    const reply = await postMessage(bob, room, "nice picture", { replyTo: m.id });
    expect(reply.replyTo).toMatchObject({ id: m.id, preview: "second caption" });
    const react = await bob.request("PUT", `/rooms/${room}/messages/${m.id}/reactions/${encodeURIComponent("👍")}`);
    expect(react.status).toBe(201);

    const shown = (await history(alice, room)).find((x) => x.id === m.id);
    expect(shown).toMatchObject({ body: "second caption", attachments: files, replyCount: 1, reactions: [{ emoji: "👍", count: 1 }] });
    const thread = await bob.get<RepliesResponse>(`/rooms/${room}/messages/${m.id}/replies`);
    expect(thread.body.root.attachments).toEqual(files);
    // Files in a reply, too.
    const inReply = [await upload(bob)];
    const fileReply = await postMessage(bob, room, "", { replyTo: m.id, inThread: true, attachments: inReply.map((f) => f.id) });
    expect(fileReply).toMatchObject({ body: "", inThread: true, attachments: inReply });
    await b.close();
  });

  it("a message may be files and no text, on both transports; with neither it is refused as in v1 (validation_failed on body)", async () => {
    const room = await privateRoomWithBob();
    const a = await SocketClient.connect(t.wsUrl, alice);
    const [f1, f2, f3] = [await upload(alice), await upload(alice), await upload(alice)];
    const noBody = (await a.command({ type: "message.send", roomId: room, clientId: "only-files-1", attachments: [f1.id] })) as AckFrame;
    expect(noBody).toMatchObject({ type: "ack", message: { body: "", attachments: [f1] } });
    const blank = (await a.command({ type: "message.send", roomId: room, body: "  \n ", clientId: "only-files-2", attachments: [f2.id] })) as AckFrame;
    expect(blank).toMatchObject({ type: "ack", message: { body: "", attachments: [f2] } });
    const overHttp = await alice.post<{ message: Message }>(`/rooms/${room}/messages`, { attachments: [f3.id] });
    expect(overHttp.status).toBe(201);
    expect(overHttp.body.message).toMatchObject({ body: "", attachments: [f3] });
    const head = await lastSeq(room);

    // Neither text nor a file: v1's answers, unchanged.
    for (const fields of [{}, { body: "" }, { body: "   " }, { attachments: [] }]) {
      const ws = (await a.command({ type: "message.send", roomId: room, clientId: "neither", ...fields })) as ErrorFrame;
      expect(ws, JSON.stringify(fields)).toMatchObject({ type: "error", code: "validation_failed" });
      expect(ws.details?.map((d) => d.path)).toEqual(["body"]);
      const http = await alice.post<ErrorBody>(`/rooms/${room}/messages`, fields);
      expect(http.status).toBe(400);
      // Over HTTP a field's path starts with where it was (protocol.md §1): the request body's `body`.
      expect(http.body.error.details?.map((d) => d.path)).toEqual(["body.body"]);
    }
    const empty = (await a.command({ type: "message.send", roomId: room, clientId: "neither", body: "" })) as ErrorFrame;
    expect(empty.details).toEqual([{ path: "body", message: "Message is empty." }]);
    // Text that is there must still be text: invisible-only is refused even with a file.
    const f4 = await upload(alice);
    const invisible = (await a.command({ type: "message.send", roomId: room, clientId: "invisible", body: "\u200B", attachments: [f4.id] })) as ErrorFrame;
    expect(invisible).toMatchObject({ type: "error", code: "validation_failed", details: [{ path: "body" }] });
    // A missing body is still reported beside another field's error, as v1 did.
    const both = (await a.command({ type: "message.send", roomId: room })) as ErrorFrame;
    expect(both.details?.map((d) => d.path).sort()).toEqual(["body", "clientId"]);

    expect(await lastSeq(room)).toBe(head);
    expect(await uploadStates([f4.id])).toEqual({ [f4.id]: pending });
    await a.close();
  });

  it("more files than a message may carry, or one named twice, is refused with validation_failed on attachments and nothing stored", async () => {
    const room = await privateRoomWithBob();
    const limit = t.server.config.attachmentsPerMessage;
    const files = await Promise.all(Array.from({ length: limit + 1 }, () => upload(alice)));
    const ids = files.map((f) => f.id);
    const head = await lastSeq(room);
    const a = await SocketClient.connect(t.wsUrl, alice);
    const ws = (await a.command({ type: "message.send", roomId: room, body: "too many", clientId: "too-many", attachments: ids })) as ErrorFrame;
    expect(ws).toMatchObject({ type: "error", code: "validation_failed", details: [{ path: "attachments", message: `At most ${limit} files per message.` }] });
    const http = await alice.post<ErrorBody>(`/rooms/${room}/messages`, { body: "too many", attachments: ids });
    expect(http.status).toBe(400);
    expect(http.body.error).toMatchObject({ code: "validation_failed", details: [{ path: "attachments" }] });
    const twice = (await a.command({ type: "message.send", roomId: room, body: "twice", clientId: "twice", attachments: [ids[0], ids[0]] })) as ErrorFrame;
    expect(twice).toMatchObject({ type: "error", code: "validation_failed", details: [{ path: "attachments" }] });

    // Exactly the limit is fine.
    expect(await lastSeq(room)).toBe(head);
    expect(Object.values(await uploadStates(ids))).toEqual(ids.map(() => pending));
    const ok = (await a.command({ type: "message.send", roomId: room, body: "just enough", clientId: "enough", attachments: ids.slice(0, limit) })) as AckFrame;
    expect(ok.message?.attachments).toHaveLength(limit);
    await a.close();
  });

  it("someone else's pending upload, an unknown id and an upload already sent are all 'No such upload.': nothing stored, the uploads as they were", async () => {
    const room = await privateRoomWithBob();
    const a = await SocketClient.connect(t.wsUrl, alice);
    const mine = await upload(alice);
    const bobs = await upload(bob);
    const sentBefore = await upload(alice);
    const earlier = await postMessage(alice, room, "sent already", { attachments: [sentBefore.id] });
    const head = await lastSeq(room);
    const before = await history(alice, room);
    const noSuch = (i: number) => ({ path: `attachments.${i}`, message: "No such upload." });

    const cases: [string, string[], { path: string; message: string }[]][] = [
      ["someone else's pending upload", [mine.id, bobs.id], [noSuch(1)]],
      ["an unknown id", ["0".repeat(32), mine.id], [noSuch(0)]],
      ["an upload already sent", [sentBefore.id], [noSuch(0)]],
      ["all three", [bobs.id, "nope", sentBefore.id, mine.id], [noSuch(0), noSuch(1), noSuch(2)]],
    ];
    for (const [what, ids, details] of cases) {
      const ws = (await a.command({ type: "message.send", roomId: room, body: what, clientId: `bad-${what}`, attachments: ids })) as ErrorFrame;
      expect(ws, what).toMatchObject({ type: "error", code: "validation_failed", details });
      const http = await alice.post<ErrorBody>(`/rooms/${room}/messages`, { body: what, attachments: ids });
      expect(http.status, what).toBe(400);
      expect(http.body.error, what).toMatchObject({ code: "validation_failed", details });
    }
    // Nothing stored: no seq taken, no message, every upload as it was.
    expect(await lastSeq(room)).toBe(head);
    expect(await history(alice, room)).toEqual(before);
    expect(await uploadStates([mine.id, bobs.id, sentBefore.id])).toEqual({
      [mine.id]: pending,
      [bobs.id]: pending,
      [sentBefore.id]: { state: "attached", roomId: room, messageId: earlier.id },
    });
    // Bob cannot send alice's upload either, and carol, in no room, sends nothing (and keeps her upload).
    const stolen = await bob.post<ErrorBody>(`/rooms/${room}/messages`, { body: "mine now", attachments: [mine.id] });
    expect(stolen.body.error).toMatchObject({ code: "validation_failed", details: [noSuch(0)] });
    const carols = await upload(carol);
    expect((await carol.post<ErrorBody>(`/rooms/${room}/messages`, { body: "hi", attachments: [carols.id] })).status).toBe(404);
    expect((await carol.post<ErrorBody>(`/rooms/${roomId}/messages`, { body: "hi", attachments: [carols.id] })).status).toBe(403);
    expect(await uploadStates([mine.id, carols.id])).toEqual({ [mine.id]: pending, [carols.id]: pending });
    expect(a.frames.filter((f) => f.type === "message.created" && f.roomId === room && f.seq > head)).toEqual([]);
    await a.close();
  });

  it("a sent file is read by the room's members, only while they are members; before the send by its uploader alone; after the deletion by nobody", async () => {
    const room = await privateRoomWithBob();
    const file = await upload(alice, "image");
    const status = async (as: Caller, url: string): Promise<number> => {
      const headers: Record<string, string> = as.bearer ? { authorization: `Bearer ${as.bearer}` } : { cookie: as.cookie ?? "" };
      const res = await fetch(`${t.baseUrl}${url}`, { headers });
      await res.arrayBuffer();
      return res.status;
    };
    const statuses = (as: Caller) => Promise.all([status(as, file.url), status(as, file.thumbnailUrl!)]);
    expect([await statuses(alice), await statuses(bob), await statuses(carol)]).toEqual([[200, 200], [404, 404], [404, 404]]);

    const m = await postMessage(alice, room, "", { attachments: [file.id] });
    expect([await statuses(alice), await statuses(bob), await statuses(carol)]).toEqual([[200, 200], [200, 200], [404, 404]]);
    // A member who leaves loses access at once.
    expect((await bob.post(`/rooms/${room}/leave`)).status).toBe(204);
    expect(await statuses(bob)).toEqual([404, 404]);
    expect((await alice.request("DELETE", `/rooms/${room}/messages/${m.id}`)).status).toBe(200);
    expect(await statuses(alice)).toEqual([404, 404]);
  });

  it("an upload that changes between a send's read and its write fails the attach, so the writer reruns the send alone (PostgreSQL: another node's send)", async () => {
    const file = await upload(alice);
    const db = t.server.store.db;
    const steps = attachUploads(db, [file.id], { ownerId: alice.user.id, roomId, messageId: "raced", at: new Date().toISOString() });
    // The steps' read, run here by hand so that something can happen before their write.
    const read = steps.next();
    if (read.done) throw new Error("the steps read nothing");
    const found = (await db.executeQuery(read.value)).rows;
    await db.updateTable("uploads").set({ state: "attached" }).where("id", "=", file.id).execute();
    const write = steps.next(found);
    if (write.done) throw new Error("the steps wrote nothing");
    const attached = (await db.executeQuery(write.value)).rows;
    expect(attached).toEqual([]);
    // A plain Error, not an AppError: the writer rolls the batch back and retries the send alone, whose read refuses it.
    expect(() => steps.next(attached)).toThrow(/changed since they were read/);
  });

  it("deleting a message deletes its files from the storage and from every stored event; a resume from before shows none", async () => {
    const room = await privateRoomWithBob();
    const start = await lastSeq(room);
    const files = [await upload(alice, "image"), await upload(alice)];
    const ids = files.map((f) => f.id);
    const keys = (await Promise.all(ids.map((id) => storageKeysOf(t, id)))).flat();
    expect(keys).toHaveLength(3); // the image, its thumbnail, the document
    const m = await postMessage(alice, room, "short-lived", { attachments: ids });
    expect((await alice.request("PATCH", `/rooms/${room}/messages/${m.id}`, { body: "edited, still with files" })).status).toBe(200);
    for (const key of keys) expect(await isStored(t, key)).toBe(true);

    const b = await SocketClient.connect(t.wsUrl, bob);
    const res = await alice.request<{ message: Message }>("DELETE", `/rooms/${room}/messages/${m.id}`);
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({ id: m.id, body: "" });
    expect(res.body.message).not.toHaveProperty("attachments");
    const ev = await b.waitFor((f) => f.type === "message.deleted" && f.messageId === m.id);
    expect(ev).not.toHaveProperty("message.attachments");

    // Gone from the storage, and their rows with them; the message row keeps none.
    for (const key of keys) expect(await isStored(t, key), key).toBe(false);
    expect(await uploadStates(ids)).toEqual({});
    const db = t.server.store.db;
    expect((await db.selectFrom("messages").select("attachments").where("id", "=", m.id).executeTakeFirst())?.attachments).toBeNull();
    const frames = await db.selectFrom("room_events").select("frame").where("room_id", "=", room).execute();
    expect(frames.filter((f) => ids.some((id) => f.frame.includes(id)))).toEqual([]);
    expect((await history(bob, room)).find((x) => x.id === m.id)).not.toHaveProperty("attachments");

    // The log replays the same seqs, none of them with the files.
    const late = await SocketClient.connect(t.wsUrl, bob);
    await late.command({ type: "resume", rooms: { [room]: start } });
    const replayed = late.frames.filter((f) => "seq" in f && "roomId" in f && f.roomId === room);
    expect(replayed.map((f) => f.type)).toEqual(["message.created", "message.edited", "message.deleted"]);
    expect(JSON.stringify(replayed)).not.toContain(files[0]!.id);
    expect(JSON.stringify(replayed)).not.toContain(files[1]!.id);
    expect(replayed[0]).toMatchObject({ message: { id: m.id, body: "" } });
    await Promise.all([b.close(), late.close()]);
  });

  it("a member deletes their own message with files over the socket; an owner deletes someone else's: the files go either way", async () => {
    const room = await privateRoomWithBob();
    const b = await SocketClient.connect(t.wsUrl, bob);
    const own = await upload(bob);
    const ownKeys = await storageKeysOf(t, own.id);
    const m1 = ((await b.command({ type: "message.send", roomId: room, clientId: "bob-files", attachments: [own.id] })) as AckFrame).message!;
    expect(await b.command({ type: "message.delete", roomId: room, messageId: m1.id })).toMatchObject({ type: "ack", message: { id: m1.id } });
    for (const key of ownKeys) expect(await isStored(t, key)).toBe(false);

    const other = await upload(bob, "image");
    const otherKeys = await storageKeysOf(t, other.id);
    const m2 = await postMessage(bob, room, "", { attachments: [other.id] });
    expect((await alice.request("DELETE", `/rooms/${room}/messages/${m2.id}`)).status).toBe(200);
    for (const key of otherKeys) expect(await isStored(t, key)).toBe(false);
    expect(await uploadStates([own.id, other.id])).toEqual({});
    await b.close();
  });
});

/**
 * The file sweeper (files/sweeper.ts) on a node of its own, its clock moved
 * by the test (`sweep(now)`), so nothing waits for a TTL to pass.
 */
describe("the file sweeper", () => {
  let t: TestServer;
  let alice: Caller;
  let sweeper: FileSweeper;
  const DAY = 24 * 60 * 60 * 1000;

  const state = async (id: string) => (await t.server.store.db.selectFrom("uploads").select("state").where("id", "=", id).executeTakeFirst())?.state ?? "gone";
  const keysStored = async (keys: string[]) => Promise.all(keys.map((k) => isStored(t, k)));
  const putStray = async (key: string) => t.server.files.put(key, Readable.from([Buffer.from("stray")]), { contentType: "application/octet-stream" });

  beforeAll(async () => {
    t = await startTestServer({ pendingUploadTtlMs: DAY, uploadsPerMinute: 100_000 });
    alice = await signup(t.baseUrl, "alice");
    const { config, store, files, log } = t.server;
    sweeper = new FileSweeper({ config, store, files, log, cluster: null });
  });
  afterAll(() => t.destroy());

  it("removes expired pending uploads, deleted ones and stray objects (objects, then rows), and keeps what is sent, fresh or named", async () => {
    const room = await createRoom(alice, "private");
    const sent = await pendingUpload(t, alice, { kind: "image" });
    await postMessage(alice, room, "kept", { attachments: [sent.id] });
    const fresh = await pendingUpload(t, alice);
    const old = await pendingUpload(t, alice, { kind: "image" });
    const deleted = await pendingUpload(t, alice);
    const [sentKeys, freshKeys, oldKeys, deletedKeys] = await Promise.all([sent, fresh, old, deleted].map((u) => storageKeysOf(t, u.id)));
    const db = t.server.store.db;
    // Uploaded two days ago and never sent; and one whose message's deletion could not remove its files.
    await db.updateTable("uploads").set({ created_at: new Date(Date.now() - 2 * DAY).toISOString() }).where("id", "=", old.id).execute();
    await db.updateTable("uploads").set({ state: "deleted", deleted_at: new Date().toISOString() }).where("id", "=", deleted.id).execute();
    const stray = `ff/${"f".repeat(32)}`;
    await putStray(stray);

    expect(await sweeper.sweep()).toEqual({ expired: 1, removed: 2, orphans: 0 });
    expect(await keysStored([...oldKeys!, ...deletedKeys!])).toEqual([false, false, false]);
    expect([await state(old.id), await state(deleted.id)]).toEqual(["gone", "gone"]);
    // A stray object younger than the pending-upload time may be an upload whose row is about to be stored.
    expect(await keysStored([...sentKeys!, ...freshKeys!, stray])).toEqual([true, true, true, true]);
    expect([await state(sent.id), await state(fresh.id)]).toEqual(["attached", "pending"]);

    // A day and more later: the stray object goes, and so does the upload never sent; the sent one stays.
    expect(await sweeper.sweep(Date.now() + DAY + 60_000)).toEqual({ expired: 1, removed: 1, orphans: 1 });
    expect(await keysStored([stray, ...freshKeys!])).toEqual([false, false]);
    expect(await state(fresh.id)).toBe("gone");
    expect(await keysStored(sentKeys!)).toEqual([true, true]);
    expect(await state(sent.id)).toBe("attached");
    // Nothing left to do: nothing removed.
    expect(await sweeper.sweep(Date.now() + DAY + 60_000)).toEqual({ expired: 0, removed: 0, orphans: 0 });
  });

  it("a node that is not the cluster's leader leaves the sweeping to the leader", async () => {
    const bus = new MemoryBus();
    const membership = new ClusterMembership("node-b", bus, 3_000, pino({ level: "silent" }));
    // node-a's beat: the lowest live id leads.
    bus.publish({ kind: "node.beat", node: "node-a", state: "alive", from: "node-a" });
    expect(membership.isLeader()).toBe(false);
    const { config, store, files, log } = t.server;
    const follower = new FileSweeper({ config, store, files, log, cluster: membership });
    const deleted = await pendingUpload(t, alice);
    await t.server.store.db.updateTable("uploads").set({ state: "deleted" }).where("id", "=", deleted.id).execute();
    expect(await follower.sweep()).toBeNull();
    expect(await state(deleted.id)).toBe("deleted");
    expect(await keysStored(await storageKeysOf(t, deleted.id))).toEqual([true]);
    membership.close();
    // The leader's sweep takes it.
    expect(await sweeper.sweep()).toMatchObject({ removed: 1 });
  });

  it("the node sweeps on its own every fileSweepIntervalMs from listen on, and stops with it", async () => {
    const node = await startTestServer({ fileSweepIntervalMs: 100 });
    try {
      const owner = await signup(node.baseUrl, "owner");
      const gone = await pendingUpload(node, owner);
      const keys = await storageKeysOf(node, gone.id);
      await node.server.store.db.updateTable("uploads").set({ state: "deleted" }).where("id", "=", gone.id).execute();
      // Waits for the outcome, not for a time: the row and its object go at the node's next sweep.
      for (let i = 0; i < 200 && (await storageKeysOf(node, gone.id)).length > 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await storageKeysOf(node, gone.id)).toEqual([]);
      expect(await isStored(node, keys[0]!)).toBe(false);
    } finally {
      // close() stops the sweeper before the store: no sweep runs on a closed database.
      await node.destroy();
    }
  });
});
