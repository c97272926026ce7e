import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../support/server.js";
import { createRoom, postMessage, signup, unique, type Caller } from "../support/client.js";
import { callerOn, eventually, installation, startNode, type Installation } from "../support/cluster.js";
import type { SearchResponse } from "@shared/protocol/search.js";

/**
 * Search on two nodes sharing PostgreSQL (issue 18): the index lives in the
 * database, written in the transactions that send, edit and delete, so a
 * search through either node sees what was done through the other, and a
 * member who left on one node no longer finds the room's messages on the
 * other. The vocabulary (parts of words) follows within a second.
 */
describe("search on two nodes", () => {
  let inst: Installation;
  let a: TestServer;
  let b: TestServer;
  let alice: Caller;
  let bob: Caller;
  let bobOnB: Caller;
  let roomId: string;

  beforeAll(async () => {
    inst = await installation();
    [a, b] = [await startNode(inst), await startNode(inst)];
    alice = await signup(a.baseUrl, "alice");
    bob = await signup(a.baseUrl, "bob");
    bobOnB = callerOn(bob, b.baseUrl);
    roomId = await createRoom(alice, "public");
    expect((await bob.post(`/rooms/${roomId}/join`)).status).toBe(200);
  });
  afterAll(async () => {
    await a?.destroy();
    await b?.destroy();
    await inst?.drop();
  });

  const search = async (caller: Caller, q: string) => {
    const res = await caller.get<SearchResponse>(`/search?q=${encodeURIComponent(q)}&sort=date`);
    expect(res.status).toBe(200);
    return res.body;
  };

  it("finds through one node what was sent, edited and deleted through the other", async () => {
    const word = `quokka${unique()}`;
    const sent = await postMessage(alice, roomId, `the ${word} landed`);
    const found = await search(bobOnB, word);
    expect(found.results.map((h) => h.message.id)).toEqual([sent.id]);

    const edited = `the ${word}s went home`;
    expect((await alice.request("PATCH", `/rooms/${roomId}/messages/${sent.id}`, { body: edited })).status).toBe(200);
    expect((await search(bobOnB, "landed")).results.map((h) => h.message.id)).not.toContain(sent.id);
    expect((await search(bobOnB, `"went home" ${word}s`)).results.map((h) => h.message.id)).toEqual([sent.id]);
    // As a part of a word, through the vocabulary: node A writes its new words within a second (search/vocabulary.ts).
    await eventually("node A's new words to reach the vocabulary", async () => (await search(bobOnB, `"went home" ${word}`)).results.some((h) => h.message.id === sent.id));

    expect((await alice.request("DELETE", `/rooms/${roomId}/messages/${sent.id}`)).status).toBe(200);
    expect((await search(bobOnB, word)).total).toBe(0);
  });

  it("a member who leaves through one node no longer finds the room's messages through the other", async () => {
    const word = `wombat${unique()}`;
    await postMessage(alice, roomId, `a ${word} in the room`);
    expect((await search(bobOnB, word)).total).toBe(1);
    expect((await bob.post(`/rooms/${roomId}/leave`)).status).toBe(204);
    expect((await search(bobOnB, word)).total).toBe(0);
  });
});
