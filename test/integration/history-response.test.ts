import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { soloRoom, type SoloRoom } from "../support/fixtures.js";
import { postMessage, type Caller } from "../support/client.js";
import { HistoryResponseSchema, type HistoryResponse } from "@shared/protocol/http.js";

/**
 * The history route writes its page with JSON.stringify, not through the
 * zod response serializer (messages/routes.ts): what it sends must still be
 * exactly what the schema allows. Parsing strips any field the schema does
 * not know, so parse-then-compare finds an extra field as well as a wrong type.
 */
describe("history page answer", () => {
  let solo: SoloRoom;
  let alice: Caller;
  let roomId: string;

  beforeAll(async () => {
    solo = await soloRoom();
    ({ alice, roomId } = solo);
  });
  afterAll(() => solo.close());

  it("is exactly a HistoryResponse, with replies, mentions, reactions, edits and deletions on the page", async () => {
    const root = await postMessage(alice, roomId, `hello @${alice.user.username}`);
    const reply = await postMessage(alice, roomId, "a reply", { replyTo: root.id });
    const gone = await postMessage(alice, roomId, "to delete");
    expect((await alice.request("PUT", `/rooms/${roomId}/messages/${root.id}/reactions/${encodeURIComponent("👍")}`)).status).toBe(201);
    expect((await alice.request("PATCH", `/rooms/${roomId}/messages/${reply.id}`, { body: "an edited reply" })).status).toBe(200);
    expect((await alice.request("DELETE", `/rooms/${roomId}/messages/${gone.id}`)).status).toBe(200);

    for (const query of ["?limit=50", `?before=${gone.seq}&limit=2`, `?after=0&limit=50`, `?around=${root.seq}&limit=4`]) {
      const res = await alice.get<HistoryResponse>(`/rooms/${roomId}/messages${query}`);
      expect(res.status).toBe(200);
      expect(HistoryResponseSchema.parse(res.body)).toEqual(res.body);
    }
    const page = (await alice.get<HistoryResponse>(`/rooms/${roomId}/messages?limit=50`)).body;
    expect(page.messages.map((m) => m.id)).toEqual([root.id, reply.id, gone.id]);
    expect(page.messages[0]!.reactions).toEqual([{ emoji: "👍", count: 1, userIds: [alice.user.id] }]);
    expect(page.messages[0]!.mentions).toEqual({ userIds: [alice.user.id], room: false, here: false });
    expect(page.messages[1]).toMatchObject({ body: "an edited reply", replyTo: { id: root.id } });
    expect(page.messages[2]).toMatchObject({ body: "", reactions: [] });
    expect(page.messages[2]!.deletedAt).toEqual(expect.any(String));
  });
});
