import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, postMessage, signup, signupBot, unique, type Caller, type HttpAnswer } from "../support/client.js";
import type { AckFrame, ErrorFrame } from "@shared/protocol/frames.js";
import { pdf } from "../support/sample-files.js";
import { SearchResponseSchema, type SearchHit, type SearchResponse } from "@shared/protocol/search.js";
import { UploadResponseSchema, type Attachment } from "@shared/protocol/attachments.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import type { Message, Room } from "@shared/protocol/entities.js";
import type { ErrorBody } from "@shared/protocol/errors.js";
import { indexTerms } from "@server/search/tokens.js";
import { FEW_MATCHES } from "@server/search/postgres.js";

/**
 * Message search (issue 18, items 1 to 3), the one behaviour suite: a real
 * server over real HTTP, run as it stands on SQLite (project `integration`)
 * and on PostgreSQL (`integration-postgres`), with the same expectations on
 * both (the same results for the same data).
 *
 * Every test searches as people of its own (a fresh sign-up, rooms of its
 * own): a search only sees the rooms its user is a member of, so tests
 * sharing the node never see each other's messages, and each expectation
 * can be exact.
 */

let t: TestServer;

const person = (name = "user"): Promise<Caller> => signup(t.baseUrl, name);

/** A room of `owner`'s with a name without spaces (for `in:#name`). */
async function roomOf(owner: Caller, kind: "public" | "private" = "public", prefix = "room"): Promise<{ id: string; name: string }> {
  const name = `${prefix}-${unique()}`;
  const res = await owner.post<{ room: Room }>("/rooms", { name, kind });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.room.id, name: res.body.room.name };
}

async function join(as: Caller, roomId: string): Promise<void> {
  expect((await as.post(`/rooms/${roomId}/join`)).status).toBe(200);
}

async function addMember(owner: Caller, roomId: string, member: Caller): Promise<void> {
  expect((await owner.post(`/rooms/${roomId}/members`, { userId: member.user.id })).status).toBe(201);
}

const send = (as: Caller, roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<Message> => postMessage(as, roomId, body, extra);

/** Sends each text in turn (so that each is newer than the one before) and returns the messages in that order. */
async function sendAll(as: Caller, roomId: string, bodies: string[]): Promise<Message[]> {
  const sent: Message[] = [];
  for (const body of bodies) sent.push(await send(as, roomId, body));
  return sent;
}

/** GET /api/v1/search as `as`, answered as it is. */
function searchRaw(as: Caller, q: string, params: Record<string, string | number> = {}): Promise<HttpAnswer<unknown>> {
  const query = new URLSearchParams({ q, ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) });
  return as.get(`/search?${query.toString()}`);
}

/** GET /api/v1/search as `as`: fails unless 200 and of the answer's shape. */
async function search(as: Caller, q: string, params: Record<string, string | number> = {}): Promise<SearchResponse> {
  const res = await searchRaw(as, q, params);
  expect(res.status, `q=${JSON.stringify(q)} ${JSON.stringify(params)}: ${JSON.stringify(res.body)}`).toBe(200);
  return SearchResponseSchema.parse(res.body);
}

/** The ids of the messages found, in the order given. */
const idsOf = (res: SearchResponse): string[] => res.results.map((hit) => hit.message.id);
/** A snippet as the text it shows. */
const snippetText = (hit: SearchHit): string => hit.snippet.map((part) => part.text).join("");
/** The parts of a snippet marked as matches. */
const marked = (hit: SearchHit): string[] => hit.snippet.filter((part) => part.match === true).map((part) => part.text);
/** Whether `text` appears anywhere in an answer's snippets. */
const inSnippets = (res: SearchResponse, text: string): boolean => res.results.some((hit) => snippetText(hit).toLowerCase().includes(text.toLowerCase()));

/** Finds exactly `expected` (by id, in any order), and counts exactly them. */
async function expectFinds(as: Caller, q: string, expected: Message[], params: Record<string, string | number> = {}): Promise<SearchResponse> {
  const res = await search(as, q, params);
  expect([...idsOf(res)].sort(), `q=${JSON.stringify(q)} found ${JSON.stringify(res.results.map((h) => h.message.body))}`).toEqual(expected.map((m) => m.id).sort());
  expect(res.total, `q=${JSON.stringify(q)} total`).toBe(expected.length);
  expect(res.totalCapped).toBe(false);
  return res;
}

/** A pending upload of `owner`'s named `name` (a small PDF), through POST /api/v1/uploads. */
async function uploadNamed(owner: Caller, name: string): Promise<Attachment> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(pdf())], { type: "application/pdf" }), name);
  const headers: Record<string, string> = owner.bearer
    ? { authorization: `Bearer ${owner.bearer}` }
    : { cookie: owner.cookie ?? "", "x-csrf-token": owner.csrfToken ?? "" };
  const res = await fetch(`${t.baseUrl}/api/v1/uploads`, { method: "POST", headers, body: form });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return UploadResponseSchema.parse(JSON.parse(text)).upload;
}

const edit = (as: Caller, roomId: string, messageId: string, body: string) =>
  as.request<{ message: Message }>("PATCH", `/rooms/${roomId}/messages/${messageId}`, { body });
const remove = (as: Caller, roomId: string, messageId: string) => as.request<{ message: Message }>("DELETE", `/rooms/${roomId}/messages/${messageId}`);

/** The UTC day of an ISO time, and the days around it. */
const dayOf = (iso: string): string => iso.slice(0, 10);
const dayAfter = (day: string, n = 1): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  // Uploads: tests upload more than a person would in a minute (the rate is uploads.test.ts's).
  t = await startTestServer({ uploadsPerMinute: 100_000 });
});
afterAll(() => t.destroy());

describe("search: what is searched (issue 18, item 1)", () => {
  it("a message in a room I am in is found, with its room, author and time, by cookie and by Bearer token", async () => {
    const me = await person("me");
    const bot = await signupBot(t.baseUrl, "bot");
    const room = await roomOf(me, "public", "general");
    await join(bot, room.id);
    const [m] = await sendAll(bot, room.id, ["The quarterly figures look fine"]);
    for (const who of [me, bot]) {
      const res = await expectFinds(who, "quarterly", [m!]);
      const hit = res.results[0]!;
      expect(hit.room).toEqual({ id: room.id, name: room.name, kind: "public" });
      expect(hit.message).toMatchObject({ id: m!.id, roomId: room.id, seq: m!.seq, body: m!.body, createdAt: m!.createdAt });
      expect(hit.message.author).toMatchObject({ id: bot.user.id, username: bot.user.username });
      expect(hit.matchedIn ?? "text").toBe("text");
    }
    // The message as history gives it (reactions, thread counters and all).
    expect((await me.request("PUT", `/rooms/${room.id}/messages/${m!.id}/reactions/${encodeURIComponent("👍")}`)).status).toBe(201);
    const history = await me.get<HistoryResponse>(`/rooms/${room.id}/messages`);
    const [hit] = (await search(me, "quarterly")).results;
    expect(hit!.message).toEqual(history.body.messages.find((x) => x.id === m!.id));
    // A word in no message finds nothing.
    await expectFinds(me, "zebracorn", []);
  });

  it("a private room I was never in, and a public room I did not join: never found, not in the total, not in snippets", async () => {
    const me = await person("me");
    const other = await person("other");
    const mine = await roomOf(me, "public");
    const secret = await roomOf(other, "private");
    const open = await roomOf(other, "public");
    const [visible] = await sendAll(me, mine.id, ["kumquat harvest is on friday"]);
    await sendAll(other, secret.id, ["kumquat secretsauce recipe"]);
    await sendAll(other, open.id, ["kumquat opendoor plans"]);

    const res = await expectFinds(me, "kumquat", [visible!]);
    expect(inSnippets(res, "secretsauce")).toBe(false);
    expect(inSnippets(res, "opendoor")).toBe(false);
    await expectFinds(me, "secretsauce", []);
    await expectFinds(me, "opendoor", []);
    await expectFinds(me, `kumquat in:#${secret.name}`, []);
    // A misspelling is never corrected to a word of theirs: that would tell me it is there.
    const misspelt = await expectFinds(me, "secretsauc", []);
    expect(JSON.stringify(misspelt.corrections ?? [])).not.toContain("secretsauce");
    // The other finds both of theirs, and not mine.
    expect((await search(other, "kumquat")).total).toBe(2);
    // Naming the rooms is no way in: 403 or 404, never their messages.
    for (const roomId of [secret.id, open.id]) {
      const refused = await searchRaw(me, "kumquat", { roomId });
      expect([403, 404], JSON.stringify(refused.body)).toContain(refused.status);
    }
  });

  it("a room I left: found while I was in it, not once I left (nor what is said after), not in the total", async () => {
    const owner = await person("owner");
    const leaver = await person("leaver");
    const room = await roomOf(owner, "public");
    const stay = await roomOf(leaver, "public");
    await join(leaver, room.id);
    const [before] = await sendAll(owner, room.id, ["persimmon tasting at noon"]);
    const [kept] = await sendAll(leaver, stay.id, ["persimmon jam in my own room"]);
    await expectFinds(leaver, "persimmon", [before!, kept!]);
    // Joining a room makes what was said there before searchable: membership now is what counts.
    const later = await roomOf(owner, "public");
    const [earlier] = await sendAll(owner, later.id, ["persimmon said before anyone joined"]);
    await expectFinds(leaver, "anyone", []);
    await join(leaver, later.id);
    await expectFinds(leaver, "anyone", [earlier!]);

    expect((await leaver.post(`/rooms/${room.id}/leave`)).status).toBe(204);
    await sendAll(owner, room.id, ["persimmon tasting moved to one"]);
    const res = await expectFinds(leaver, "persimmon", [kept!, earlier!]);
    expect(inSnippets(res, "tasting")).toBe(false);
    await expectFinds(leaver, "tasting", []);
    const byRoom = await searchRaw(leaver, "persimmon", { roomId: room.id });
    expect([403, 404], JSON.stringify(byRoom.body)).toContain(byRoom.status);
    // The owner still finds both.
    expect((await search(owner, "persimmon tasting")).total).toBe(2);
  });

  it("a private room I was added to is found; a direct room too, with its kind", async () => {
    const me = await person("me");
    const other = await person("other");
    const priv = await roomOf(other, "private");
    await addMember(other, priv.id, me);
    const [inPrivate] = await sendAll(other, priv.id, ["nectarine budget draft"]);
    const dm = await me.post<{ room: Room }>("/direct", { userId: other.user.id });
    expect(dm.status).toBe(200);
    const [inDirect] = await sendAll(other, dm.body.room.id, ["nectarine for you"]);
    const res = await expectFinds(me, "nectarine", [inPrivate!, inDirect!]);
    const rooms = Object.fromEntries(res.results.map((hit) => [hit.message.id, hit.room]));
    expect(rooms[inPrivate!.id]).toEqual({ id: priv.id, name: priv.name, kind: "private" });
    expect(rooms[inDirect!.id]).toMatchObject({ id: dm.body.room.id, kind: "direct" });
    // Each hit's room is named as the room itself is named to me (a direct room: the other person's name).
    for (const hit of res.results) {
      const shown = await me.get<{ room: Room }>(`/rooms/${hit.room.id}`);
      expect(hit.room.name, hit.room.kind).toBe(shown.body.room.name);
    }
  });

  it("a deleted message is never found, and the total drops", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [gone, kept] = await sendAll(me, room.id, ["tamarind vanishingword first", "tamarind second"]);
    await expectFinds(me, "tamarind", [gone!, kept!]);
    expect((await remove(me, room.id, gone!.id)).status).toBe(200);
    const res = await expectFinds(me, "tamarind", [kept!]);
    expect(inSnippets(res, "vanishingword")).toBe(false);
    await expectFinds(me, "vanishingword", []);
    await expectFinds(me, "vanishing*", []);
    await expectFinds(me, "anishing", []);
  });

  it("an edited message is found by its new text and never by its old text, nor shows it in snippets", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [m] = await sendAll(me, room.id, ["rhubarb walrus of the plan"]);
    await expectFinds(me, "walrus", [m!]);
    const res = await edit(me, room.id, m!.id, "rhubarb pelican of the plan");
    expect(res.status).toBe(200);

    const found = await expectFinds(me, "pelican", [m!]);
    expect(found.results[0]!.message.body).toBe("rhubarb pelican of the plan");
    await expectFinds(me, "walrus", []);
    await expectFinds(me, "walr*", []);
    await expectFinds(me, "alru", []);
    // A word in both versions finds it once, showing the new text only.
    const both = await expectFinds(me, "rhubarb", [m!]);
    expect(snippetText(both.results[0]!)).toContain("pelican");
    expect(inSnippets(both, "walrus")).toBe(false);

    // A message with a file, edited: its file's name is still searched, with the new text.
    const file = await uploadNamed(me, "chestnut-plan.pdf");
    const withFile = await send(me, room.id, "draft one of the plan", { attachments: [file.id] });
    expect((await edit(me, room.id, withFile.id, "final version of the plan")).status).toBe(200);
    const byName = await expectFinds(me, "chestnut", [withFile]);
    expect(byName.results[0]!.matchedIn).toBe("file");
    await expectFinds(me, "final", [withFile]);
    await expectFinds(me, "draft", []);
  });

  it("a file's name is searched (matchedIn file, the snippet from the name), with or without text; deleting the message takes it out", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const named = await uploadNamed(me, "zanzibar-budget.pdf");
    const withText = await send(me, room.id, "see the attached sheet", { attachments: [named.id] });
    const bare = await uploadNamed(me, "zanzibar-minutes.pdf");
    const fileOnly = await send(me, room.id, "", { attachments: [bare.id] });
    const inText = await send(me, room.id, "zanzibar trip is booked");

    const res = await expectFinds(me, "zanzibar", [withText, fileOnly, inText]);
    const hits = Object.fromEntries(res.results.map((hit) => [hit.message.id, hit]));
    expect(hits[withText.id]!.matchedIn).toBe("file");
    expect(hits[fileOnly.id]!.matchedIn).toBe("file");
    expect(hits[inText.id]!.matchedIn ?? "text").toBe("text");
    expect(snippetText(hits[withText.id]!)).toContain("zanzibar-budget.pdf");
    expect(marked(hits[withText.id]!).join(" ").toLowerCase()).toContain("zanzibar");
    expect(hits[withText.id]!.message.attachments?.map((a) => a.id)).toEqual([named.id]);
    await expectFinds(me, "budget", [withText]);
    await expectFinds(me, "attached", [withText]);

    expect((await remove(me, room.id, withText.id)).status).toBe(200);
    await expectFinds(me, "budget", []);
    await expectFinds(me, "zanzibar", [fileOnly, inText]);
  });

  it("a person in many rooms (more than 32) finds what is said in each, and only there", async () => {
    const me = await person("me");
    const other = await person("other");
    const rooms: { id: string; name: string }[] = [];
    for (let i = 0; i < 36; i++) rooms.push(await roomOf(me, i % 2 === 0 ? "public" : "private"));
    const notMine = await roomOf(other, "public");
    const first = await send(me, rooms[0]!.id, "sassafras in the first room");
    const last = await send(me, rooms[35]!.id, "sassafras in the last room");
    await send(other, notMine.id, "sassafras elsewhere");
    await expectFinds(me, "sassafras", [first, last]);
    await expectFinds(me, "sassafras", [last], { roomId: rooms[35]!.id });
    await expectFinds(me, `sassafras in:#${rooms[0]!.name}`, [first]);
  });

  it("thread replies and quote replies are found, with their replyTo", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const root = await send(me, room.id, "the launch checklist");
    const inThread = await send(me, room.id, "gooseberry step is done", { replyTo: root.id, inThread: true });
    const quote = await send(me, room.id, "gooseberry step was quick", { replyTo: root.id });
    const res = await expectFinds(me, "gooseberry", [inThread, quote]);
    for (const hit of res.results) expect(hit.message.replyTo?.id).toBe(root.id);
    // A reply's quote of its root is not the reply's text.
    await expectFinds(me, "checklist", [root]);
  });
});

describe("search: matching (issue 18, item 2)", () => {
  it("stemming: a word finds its forms (connecting → connected, connection, connections)", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [a, b, c] = await sendAll(me, room.id, ["we connected the pipes", "the connection dropped", "two connections left", "nothing relevant"]);
    await expectFinds(me, "connecting", [a!, b!, c!]);
    await expectFinds(me, "CONNECTIONS", [a!, b!, c!]);
  });

  it("stemming: deploying finds deployed and deployment", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [a, b] = await sendAll(me, room.id, ["we deployed on monday", "the deployment failed", "nothing relevant"]);
    await expectFinds(me, "deploying", [a!, b!]);
  });

  it("a phrase in quotes matches those words in that order only", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [inOrder, notInOrder, alsoInOrder] = await sendAll(me, room.id, ["the release notes are ready", "notes release is late", "Release Notes, second draft"]);
    await expectFinds(me, '"release notes"', [inOrder!, alsoInOrder!]);
    // Without quotes, the words in any order.
    await expectFinds(me, "release notes", [inOrder!, notInOrder!, alsoInOrder!]);
    await expectFinds(me, '"notes release"', [notInOrder!]);
    // A phrase is within one text: it does not run from the message's text into its file's name.
    const file = await uploadNamed(me, "notes-q3.pdf");
    const split = await send(me, room.id, "the final release", { attachments: [file.id] });
    await expectFinds(me, '"release notes"', [inOrder!, alsoInOrder!]);
    await expectFinds(me, "release notes", [inOrder!, notInOrder!, alsoInOrder!, split]);
  });

  it("a prefix: deplo* finds words starting with it, not words containing it elsewhere", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [a, b, , d] = await sendAll(me, room.id, ["deployment went well", "we deployed it", "please redeploy", "Deplorable weather"]);
    const prefixed = await expectFinds(me, "deplo*", [a!, b!, d!]);
    expect(prefixed.results.map((hit) => marked(hit).join(" ")).sort()).toEqual(["Deplorable", "deployed", "deployment"]);
    await expectFinds(me, "deploy*", [a!, b!]);
  });

  it("part of a word of three characters or more finds the word; two characters do not", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [a, b] = await sendAll(me, room.id, ["the deployment went well", "redeploying now", "a plain message"]);
    const parts = await expectFinds(me, "ploy", [a!, b!]);
    for (const hit of parts.results) expect(marked(hit).join(" ").toLowerCase(), snippetText(hit)).toContain("ploy");
    await expectFinds(me, "ymen", [a!]);
    await expectFinds(me, "ep", []);
  });

  it("a prefix finds my word however many other words (in rooms I cannot read) start with it; a part inside words stands for the 30 shortest", async () => {
    const me = await person("me");
    const other = await person("other");
    const letters = "abcdefghijklmnopqrstuvwxyz";
    const crowd = Array.from({ length: 80 }, (_, i) => `vrkq${letters[i % 26]}${letters[Math.floor(i / 26)]}`).join(" ");
    await sendAll(other, (await roomOf(other, "private")).id, [crowd]);
    const room = await roomOf(me);
    const [mine] = await sendAll(me, room.id, ["an unusualvrkqword here"]);
    const [prefixed] = await sendAll(me, room.id, ["vrkqlongerwordthanthose"]);
    // More than 30 words contain "vrkq" (search/query.ts EXPANSIONS_MAX): the words starting with it are all searched still,
    // a word with it inside only if among the 30 shortest (docs/search.md): here it is not, and a longer part finds it.
    await expectFinds(me, "vrkq", [prefixed!]);
    await expectFinds(me, "vrkq*", [prefixed!]);
    await expectFinds(me, "usualvrk", [mine!]);
  });

  it("case and accents do not matter, either way", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [cafe, resume, naive, upper] = await sendAll(me, room.id, ["meet at the café", "send your résumé today", "a NAÏVE approach", "BIG CAFE SIGN"]);
    const cafes = await expectFinds(me, "CAFÉ", [cafe!, upper!]);
    expect(cafes.results.map((hit) => marked(hit).join("")).sort()).toEqual(["CAFE", "café"]);
    await expectFinds(me, "cafe", [cafe!, upper!]);
    await expectFinds(me, "resume", [resume!]);
    await expectFinds(me, "RÉSUMÉ", [resume!]);
    await expectFinds(me, "naive", [naive!]);
    await expectFinds(me, "naïve", [naive!]);
    await expectFinds(me, "caf*", [cafe!, upper!]);
    await expectFinds(me, "RÉSU*", [resume!]);
  });

  it("Chinese, Japanese, Korean and Thai text is matched by substring", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [tokyo, beijing, japanese, korean, thai] = await sendAll(me, room.id, [
      "東京都に行きます",
      "我们明天在北京开会",
      "日本語の勉強をしています",
      "서울에서 만나요",
      "สวัสดีครับทุกคน",
    ]);
    const [tokyoHit] = (await expectFinds(me, "東京", [tokyo!])).results;
    expect(marked(tokyoHit!)).toEqual(["東京"]);
    await expectFinds(me, "京都", [tokyo!]); // a substring across what a dictionary would cut
    await expectFinds(me, "東京都に行きます", [tokyo!]);
    await expectFinds(me, "北京", [beijing!]); // a two-character word inside a longer run
    await expectFinds(me, "明天", [beijing!]);
    await expectFinds(me, "日本語", [japanese!]);
    await expectFinds(me, "勉強", [japanese!]);
    await expectFinds(me, "서울", [korean!]);
    await expectFinds(me, "สวัสดี", [thai!]);
    await expectFinds(me, "京", [tokyo!, beijing!]); // one character
    await expectFinds(me, "京東", []); // order matters
    await expectFinds(me, "北京 開会", []); // 開 (Japanese form) is not 开
  });

  it("Japanese words with the long-vowel mark ー (a character of no script) inside a run, and runs mixing scripts", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [server, iphone] = await sendAll(me, room.id, ["新しいサーバーを買いました", "iPhone用のケースを買った"]);
    await expectFinds(me, "iphone", [iphone!]);
    await expectFinds(me, "phone", [iphone!]);
    await expectFinds(me, "買", [server!, iphone!]);
    await expectFinds(me, "サーバー", [server!]);
    await expectFinds(me, "ケース", [iphone!]);
  });

  it("text is folded before it is cut into words (tokens.ts): ½ is 1⁄2, the numbers 1 and 2, alike on both databases", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [half, chapter] = await sendAll(me, room.id, ["add ½ cup of sugar", "chapter 1 of 2", "nothing numeric"]);
    await expectFinds(me, "½", [half!]);
    await expectFinds(me, "1", [half!, chapter!]);
  });

  it("a long sentence without spaces (Japanese, Thai: over 64 characters) is found by words at its end", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const japanese = "今日は朝から雨が降っていたので傘を持って駅まで歩いて行きましたが電車が遅れていて会社に着いたのは十時過ぎでしたそれから会議の資料を準備しました";
    const thai = "ประเทศไทยมีประชากรประมาณหกสิบเก้าล้านคนและกรุงเทพมหานครเป็นเมืองหลวงที่ใหญ่ที่สุดของประเทศ";
    const chars = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生";
    const longest = `${Array.from({ length: 3990 }, (_, i) => chars[(i * 7) % chars.length]).join("")}東京都庁`;
    const [ja, th, long] = await sendAll(me, room.id, [japanese, thai, longest]);
    await expectFinds(me, "今日は朝", [ja!]); // the start
    await expectFinds(me, "準備しました", [ja!]); // characters 66 to 71
    await expectFinds(me, "ของประเทศ", [th!]);
    await expectFinds(me, "都庁", [long!]); // the end of a message of 3,994 characters
    await expectFinds(me, "京都庁", [long!]);
  });

  it("marks are folded in other scripts too: Arabic without its vowel marks finds it with them", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [arabic, hindi] = await sendAll(me, room.id, ["مَرْحَبًا بِكُمْ", "नमस्ते दुनिया"]);
    await expectFinds(me, "مرحبا", [arabic!]);
    await expectFinds(me, "मस्त", [hindi!]);
    await expectFinds(me, "दुनिया", [hindi!]);
  });

  it("-word excludes the messages with it (words, prefixes and phrases)", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [prod, staging, both] = await sendAll(me, room.id, ["deploy to production", "deploy to staging", "deploy to staging and production"]);
    await expectFinds(me, "deploy -staging", [prod!]);
    await expectFinds(me, "deploy -production", [staging!]);
    await expectFinds(me, "deploy -stag*", [prod!]);
    await expectFinds(me, "deploy -aging", [prod!]); // a part of a word excludes too
    await expectFinds(me, 'deploy -"to staging"', [prod!]);
    await expectFinds(me, "deploy", [prod!, staging!, both!]);
  });

  it("a misspelt word finds its message, and says what it searched instead (corrections)", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [m] = await sendAll(me, room.id, ["the deployment finished", "a plain message"]);
    const res = await expectFinds(me, "deploymnet", [m!]);
    expect(res.corrections).toContainEqual({ from: "deploymnet", to: "deployment" });
    // Beside a word spelt right, and typed in capitals.
    const two = await expectFinds(me, "Deploymnet finished", [m!]);
    expect(two.corrections).toEqual([{ from: "deploymnet", to: "deployment" }]);
    // A word that finds something is not corrected.
    const exact = await expectFinds(me, "deployment", [m!]);
    expect(exact.corrections ?? []).toEqual([]);
  });

  it("a corrected search pages on like any other: the next page is of the corrected words too", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const sent = await sendAll(me, room.id, Array.from({ length: 25 }, (_, i) => `marzipan batch ${i}`));
    for (const sort of ["date", "relevance"] as const) {
      const first = await search(me, "marzipna", { sort, limit: 20 });
      expect(first.corrections, sort).toEqual([{ from: "marzipna", to: "marzipan" }]);
      expect(first.results, sort).toHaveLength(20);
      expect(first.total, sort).toBe(25);
      expect(first.nextCursor, sort).not.toBeNull();
      const second = await search(me, "marzipna", { sort, limit: 20, cursor: first.nextCursor! });
      expect(second.results, sort).toHaveLength(5);
      expect(second.nextCursor, sort).toBeNull();
      expect(new Set([...idsOf(first), ...idsOf(second)]), sort).toEqual(new Set(sent.map((m) => m.id)));
    }
  });

  it("a misspelling is corrected to my word even when someone else's word (in a room I cannot read) is closer", async () => {
    const me = await person("me");
    const other = await person("other");
    // One letter from the query, where my word is two away.
    await sendAll(other, (await roomOf(other, "private")).id, ["the quizzicalnsesx of it"]);
    const room = await roomOf(me);
    const [m] = await sendAll(me, room.id, ["such quizzicalness today"]);
    const res = await expectFinds(me, "quizzicalnses", [m!]);
    expect(res.corrections).toEqual([{ from: "quizzicalnses", to: "quizzicalness" }]);
  });

  it("SQL and FTS syntax are text: searched for as the words they contain, never an error, never an injection", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [percent, unclosed, near, and, colon, braces] = await sendAll(me, room.id, [
      "100% sure about it",
      "an unclosed quote here",
      "near a b yes",
      "a and b together",
      "col val pair",
      "words x here",
      "something else entirely",
    ]);
    await expectFinds(me, "100%", [percent!]);
    await expectFinds(me, "100% 🚀", [percent!]); // a term with nothing searchable beside one with something
    await expectFinds(me, '"unclosed', [unclosed!]);
    await expectFinds(me, "NEAR(a b)", [near!]);
    await expectFinds(me, "a AND b", [and!]);
    await expectFinds(me, "col:val", [colon!]);
    await expectFinds(me, "{words}: x", [braces!]);
    await expectFinds(me, "' OR 1=1 --", []);
    await expectFinds(me, "'; DROP TABLE messages; --", []);
    await expectFinds(me, 'x" OR "1"="1', []);

    // Nothing searchable left: an empty answer or validation_failed, never everything, never 500.
    for (const q of ["*", ")(", "%_\\", "%", "_", "'", '"', "--", "^", "NOT", ":", "a\u0000b", "\\\\", "$$", "E'\\x00'", "x".repeat(500), "\u{1F600}"]) {
      const res = await searchRaw(me, q);
      expect([200, 400], `q=${JSON.stringify(q)}: ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
      if (res.status === 400) expect((res.body as ErrorBody).error.code, q).toBe("validation_failed");
      else expect(SearchResponseSchema.parse(res.body).results.map((hit) => hit.message.id).filter((id) => id === percent!.id || id === unclosed!.id), q).toEqual([]);
    }
    // Bytes that are not UTF-8, a lone surrogate, a stray %: an answer, never a 500.
    for (const raw of ["%", "%ED%A0%80", "%FF%FE", "%E6%9D%B1%E4", "a%00b", "%F0%9F%98"]) {
      const res = await me.get<unknown>(`/search?q=${raw}`);
      expect([200, 400], `q=${raw}: ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
    }
    // The messages are all still there, and search still works.
    const history = await me.get<HistoryResponse>(`/rooms/${room.id}/messages`);
    expect(history.body.messages).toHaveLength(7);
    await expectFinds(me, "entirely", [history.body.messages[6]!]);
  });
});

describe("search: results (issue 18, item 3)", () => {
  it("sort by date: newest first; by relevance: the word several times or whole above a part of a word, newer first among equals", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    // Someone else's words (in a room I cannot read) change nothing in my ranking: here "redeploy", the stem of "redeployment".
    const other = await person("other");
    await sendAll(other, (await roomOf(other, "private")).id, ["we redeploy often"]);
    const [whole, part] = await sendAll(me, room.id, ["deploy went fine today", "redeployment went fine today"]);
    const byDate = await search(me, "deploy", { sort: "date" });
    expect(byDate.sort).toBe("date");
    expect(idsOf(byDate)).toEqual([part!.id, whole!.id]);
    const byRelevance = await search(me, "deploy");
    expect(byRelevance.sort).toBe("relevance");
    expect(idsOf(byRelevance)).toEqual([whole!.id, part!.id]);
    expect(idsOf(await search(me, "deploy", { sort: "relevance" }))).toEqual([whole!.id, part!.id]);

    const [often, once] = await sendAll(me, room.id, ["rollout rollout rollout now", "rollout went smoothly now"]);
    expect(idsOf(await search(me, "rollout"))).toEqual([often!.id, once!.id]);
    expect(idsOf(await search(me, "rollout", { sort: "date" }))).toEqual([once!.id, often!.id]);

    const [older, newer] = await sendAll(me, room.id, ["tiebreak sample text", "tiebreak sample text"]);
    expect(idsOf(await search(me, "tiebreak"))).toEqual([newer!.id, older!.id]);
  });

  it("relevance: the word three times ranks above once, in a shorter message too", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [often, once, onceShort] = await sendAll(me, room.id, ["tamarack tamarack tamarack now", "tamarack went fine now", "tamarack now"]);
    const ranked = idsOf(await search(me, "tamarack"));
    expect(ranked[0]).toBe(often!.id);
    expect(ranked.slice(1).sort()).toEqual([once!.id, onceShort!.id].sort());
  });

  it("a snippet is plain text from the message, its matched words marked; never HTML", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [plain, html] = await sendAll(me, room.id, ["We are Deploying the new build", "<b>bold</b> & <script>alert(1)</script> marmalade"]);
    const [hit] = (await expectFinds(me, "deploy", [plain!])).results;
    // A short message is its own snippet, uncut.
    expect(snippetText(hit!)).toBe(plain!.body);
    const words = marked(hit!);
    expect(words.length).toBeGreaterThan(0);
    for (const w of words) expect(w.toLowerCase()).toContain("deploy");
    for (const part of hit!.snippet.filter((p) => p.match !== true)) {
      expect(part.text.toLowerCase()).not.toContain("deploy");
      expect(part.match === undefined || part.match === false).toBe(true);
    }
    expect(words.join(" ")).not.toMatch(/build|new/);

    const [markup] = (await expectFinds(me, "marmalade", [html!])).results;
    expect(snippetText(markup!)).toBe(html!.body);
    expect(markup!.message.body).toBe("<b>bold</b> & <script>alert(1)</script> marmalade");
    expect(markup!.snippet.some((p) => p.text.includes("&lt;") || p.text.includes("&amp;") || p.text.includes("<mark"))).toBe(false);
    expect(marked(markup!)).toEqual(["marmalade"]);
    const [bold] = (await expectFinds(me, "bold", [html!])).results;
    expect(marked(bold!)).toEqual(["bold"]);
    expect(snippetText(bold!)).toContain("<b>bold</b>");
  });

  it("a long message's snippet is cut around the match, with … where cut, the pieces from the message", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const filler = (word: string) => Array.from({ length: 120 }, (_, i) => `${word}${i % 10}`).join(" ");
    const body = `${filler("alpha")} the needle is here ${filler("omega")}`;
    expect(body.length).toBeLessThan(4000);
    const [m] = await sendAll(me, room.id, [body]);
    const [hit] = (await expectFinds(me, "needle", [m!])).results;
    const shown = snippetText(hit!);
    expect(shown.length).toBeLessThan(body.length);
    expect(shown).toContain("needle");
    expect(shown.startsWith("…")).toBe(true);
    expect(shown.endsWith("…")).toBe(true);
    for (const piece of shown.split("…").map((p) => p.trim()).filter((p) => p !== "")) expect(body).toContain(piece);
    expect(marked(hit!)).toEqual(["needle"]);
  });

  it("a snippet never cuts a character in two (emoji and CJK beyond the BMP are two UTF-16 units)", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    const [emoji, ext] = await sendAll(me, room.id, [
      `${"😀".repeat(150)} needle ${"😀".repeat(150)}`,
      `${"𠀀𠀁".repeat(75)} 東京 ${"𠀂𠀃".repeat(75)}`,
    ]);
    for (const [q, m] of [["needle", emoji!], ["東京", ext!]] as const) {
      const [hit] = (await expectFinds(me, q, [m])).results;
      expect(snippetText(hit!).length).toBeLessThan(m.body.length);
      for (const part of hit!.snippet) expect(loneSurrogate.test(part.text), `${q}: ${JSON.stringify(part.text.slice(0, 3))}…${JSON.stringify(part.text.slice(-3))}`).toBe(false);
      expect(marked(hit!)).toEqual([q]);
    }
  });

  it("pagination by nextCursor visits every match once, in order, for both sorts (45 matches, 20 a page)", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    // Every third message has the word three times: relevance puts those first, newest first, then the others newest first.
    const sent = await sendAll(
      me,
      room.id,
      Array.from({ length: 45 }, (_, i) => (i % 3 === 0 ? "pageword pageword pageword" : "pageword other text")),
    );
    await sendAll(me, room.id, ["not a match at all"]);
    const newestFirst = [...sent].reverse();
    const expected = {
      date: newestFirst.map((m) => m.id),
      relevance: [...newestFirst.filter((_, i) => (44 - i) % 3 === 0), ...newestFirst.filter((_, i) => (44 - i) % 3 !== 0)].map((m) => m.id),
    };
    for (const sort of ["date", "relevance"] as const) {
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page: SearchResponse = await search(me, "pageword", { sort, limit: 20, ...(cursor ? { cursor } : {}) });
        expect(page.total).toBe(45);
        expect(page.totalCapped).toBe(false);
        expect(page.sort).toBe(sort);
        seen.push(...idsOf(page));
        sizes.push(page.results.length);
        cursor = page.nextCursor;
        expect(sizes.length).toBeLessThanOrEqual(3);
      } while (cursor !== null);
      expect(sizes, sort).toEqual([20, 20, 5]);
      expect(new Set(seen).size, sort).toBe(45);
      expect(seen, sort).toEqual(expected[sort]);
      // One page of 45 (limit up to 50) is the same order, with no next page.
      const all = await search(me, "pageword", { sort, limit: 50 });
      expect(idsOf(all), sort).toEqual(expected[sort]);
      expect(all.nextCursor).toBeNull();
    }
    // A cursor is for the sort that made it.
    const relevanceCursor = (await search(me, "pageword", { limit: 20 })).nextCursor!;
    const mixed = await searchRaw(me, "pageword", { sort: "date", cursor: relevanceCursor });
    expect(mixed.status).toBe(400);
    // The default page is 20.
    const first = await search(me, "pageword");
    expect(first.results).toHaveLength(20);
    expect(first.nextCursor).not.toBeNull();
    // A cursor that is not one is refused, not read.
    const bad = await searchRaw(me, "pageword", { cursor: "not-a-cursor" });
    expect(bad.status).toBe(400);
    expect((bad.body as ErrorBody).error.code).toBe("validation_failed");
  });

  it("from:@someone finds their messages only; several are alternatives; the filters are echoed", async () => {
    const me = await person("me");
    const bob = await person("bob");
    const cleo = await person("cleo");
    const room = await roomOf(me);
    await join(bob, room.id);
    await join(cleo, room.id);
    const [mine] = await sendAll(me, room.id, ["figwort from me"]);
    const [bobs] = await sendAll(bob, room.id, ["figwort from bob"]);
    const [cleos] = await sendAll(cleo, room.id, ["figwort from cleo"]);
    const res = await expectFinds(me, `figwort from:@${bob.user.username}`, [bobs!]);
    expect(res.filters).toEqual({ from: [bob.user.username], in: [], before: null, after: null, hasFile: false, mentionsMe: false });
    await expectFinds(me, `from:@${bob.user.username.toUpperCase()} figwort`, [bobs!]);
    await expectFinds(me, `figwort from:@${bob.user.username} from:${cleo.user.username}`, [bobs!, cleos!]);
    await expectFinds(me, `from:@${me.user.username}`, [mine!]); // a filter alone is a search
    await expectFinds(me, `figwort from:@nobody_${unique()}`, []);
    // Without filters, they echo empty.
    expect((await search(me, "figwort")).filters).toEqual({ from: [], in: [], before: null, after: null, hasFile: false, mentionsMe: false });
  });

  it("in:#room and roomId keep to one room", async () => {
    const me = await person("me");
    const [one, two] = [await roomOf(me, "public", "ops"), await roomOf(me, "private", "dev")];
    const [a] = await sendAll(me, one.id, ["hawthorn in ops"]);
    const [b] = await sendAll(me, two.id, ["hawthorn in dev"]);
    const res = await expectFinds(me, `hawthorn in:#${one.name}`, [a!]);
    expect(res.filters.in).toEqual([one.name]);
    await expectFinds(me, `hawthorn in:${two.name}`, [b!]);
    await expectFinds(me, `hawthorn in:#${one.name} in:#${two.name}`, [a!, b!]);
    await expectFinds(me, `hawthorn in:#nowhere-${unique()}`, []);
    await expectFinds(me, "hawthorn", [b!], { roomId: two.id });
    await expectFinds(me, "hawthorn", [a!], { roomId: one.id });
    await expectFinds(me, "hawthorn", [a!, b!]);
  });

  it("after: and before: are UTC days, after inclusive, before exclusive", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const [m] = await sendAll(me, room.id, ["juniper today"]);
    const day = dayOf(m!.createdAt);
    const res = await expectFinds(me, `juniper after:${day}`, [m!]);
    expect(res.filters).toMatchObject({ after: day, before: null });
    await expectFinds(me, `juniper before:${day}`, []);
    await expectFinds(me, `juniper before:${dayAfter(day)}`, [m!]);
    await expectFinds(me, `juniper after:${dayAfter(day)}`, []);
    await expectFinds(me, `juniper after:${day} before:${dayAfter(day)}`, [m!]);
    await expectFinds(me, `juniper after:${dayAfter(day, -30)} before:${day}`, []);
    await expectFinds(me, `after:${day}`, [m!]);
    const bad = await searchRaw(me, "juniper before:2026-13-45");
    expect(bad.status).toBe(400);
    expect((bad.body as ErrorBody).error.code).toBe("validation_failed");
  });

  it("has:file finds messages with files only", async () => {
    const me = await person("me");
    const room = await roomOf(me);
    const file = await uploadNamed(me, "report.pdf");
    const withFile = await send(me, room.id, "elderberry report attached", { attachments: [file.id] });
    await sendAll(me, room.id, ["elderberry without a file"]);
    const res = await expectFinds(me, "elderberry has:file", [withFile]);
    expect(res.filters.hasFile).toBe(true);
    await expectFinds(me, "has:file", [withFile]);
  });

  it("is:mention finds the messages that mention me by @username", async () => {
    const me = await person("me");
    const bob = await person("bob");
    const room = await roomOf(me);
    await join(bob, room.id);
    const [mention] = await sendAll(bob, room.id, [`mulberry for you @${me.user.username}`, "mulberry for everyone", `mulberry @${bob.user.username} self`]);
    const res = await expectFinds(me, "mulberry is:mention", [mention!]);
    expect(res.filters.mentionsMe).toBe(true);
    await expectFinds(me, "is:mention", [mention!]);
    expect((await search(me, "mulberry")).total).toBe(3);
    // An edit that takes the mention out takes it out of is:mention; one that adds it, adds it.
    const [later] = await sendAll(bob, room.id, [`mulberry again @${me.user.username}`]);
    await expectFinds(me, "is:mention", [mention!, later!]);
    expect((await edit(bob, room.id, later!.id, "mulberry again, no one")).status).toBe(200);
    expect((await edit(bob, room.id, mention!.id, `mulberry for you @${me.user.username} still`)).status).toBe(200);
    await expectFinds(me, "is:mention", [mention!]);
  });

  it("a bad filter value or an empty query is validation_failed", async () => {
    const me = await person("me");
    for (const q of ["", "   ", "from:", "has:link", "is:starred", "after:yesterday", '""']) {
      const res = await searchRaw(me, q);
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect((res.body as ErrorBody).error.code, JSON.stringify(q)).toBe("validation_failed");
    }
  });
});

describe("search: over the socket", () => {
  it("the socket's search answers as GET /search does, and a room left is out of it at once on the open socket", async () => {
    const owner = await person("owner");
    const me = await person("me");
    const room = await roomOf(owner, "public");
    await join(me, room.id);
    const [m] = await sendAll(owner, room.id, ["lingonberry jam on the socket"]);
    const s = await SocketClient.connect(t.wsUrl, me);
    try {
      const ack = (await s.command({ type: "search", q: "lingonberry", sort: "date", limit: 5 })) as AckFrame;
      expect(ack.type, JSON.stringify(ack)).toBe("ack");
      expect(ack.search).toEqual(await search(me, "lingonberry", { sort: "date", limit: 5 }));
      expect(idsOf(ack.search!)).toEqual([m!.id]);
      expect(marked(ack.search!.results[0]!)).toEqual(["lingonberry"]);

      expect((await me.post(`/rooms/${room.id}/leave`)).status).toBe(204);
      const after = (await s.command({ type: "search", q: "lingonberry" })) as AckFrame;
      expect(after.type).toBe("ack");
      expect(after.search).toMatchObject({ results: [], total: 0, totalCapped: false });

      const bad = (await s.command({ type: "search", q: "from:" })) as ErrorFrame;
      expect(bad).toMatchObject({ type: "error", code: "validation_failed" });
      expect((await s.command({ type: "ping" })).type).toBe("ack"); // the socket stays open
    } finally {
      await s.close();
    }
  });
});

describe("search: the total is counted up to the cap, and says so", () => {
  let capped: TestServer;
  beforeAll(async () => {
    capped = await startTestServer({ searchCountCap: 10 });
  });
  afterAll(() => capped.destroy());

  it("12 matches with a cap of 10: total 10, totalCapped; exactly 10: not capped", async () => {
    const me = await signup(capped.baseUrl, "me");
    const roomId = await createRoom(me);
    await sendAll(me, roomId, Array.from({ length: 12 }, (_, i) => `capword number ${i}`));
    await sendAll(me, roomId, Array.from({ length: 10 }, (_, i) => `tenword number ${i}`));
    for (const sort of ["relevance", "date"]) {
      const over = await search(me, "capword", { sort, limit: 5 });
      expect(over.total, sort).toBe(10);
      expect(over.totalCapped, sort).toBe(true);
      expect(over.results, sort).toHaveLength(5);
      const exactly = await search(me, "tenword", { sort });
      expect(exactly.total, sort).toBe(10);
      expect(exactly.totalCapped, sort).toBe(false);
      expect(exactly.results, sort).toHaveLength(10);
    }
    // By date, pages go through every match; by relevance, through the newest cap's worth (--search-count-cap).
    for (const [sort, expected] of [["date", 12], ["relevance", 10]] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 5; pages++) {
        const page: SearchResponse = await search(me, "capword", { sort, limit: 5, ...(cursor ? { cursor } : {}) });
        seen.push(...idsOf(page));
        cursor = page.nextCursor;
        if (cursor === null) break;
      }
      expect(cursor, sort).toBeNull();
      expect(seen, sort).toHaveLength(expected);
      expect(new Set(seen).size, sort).toBe(expected);
    }
    const under = await search(me, "number");
    expect(under.total).toBe(10);
    expect(under.totalCapped).toBe(true);
  });
});

describe("search: a word with more matches than PostgreSQL lists through its index (postgres.ts FEW_MATCHES)", () => {
  let busy: TestServer;
  beforeAll(async () => {
    busy = await startTestServer();
    // 5,001 documents holding the word, in a room no one is in, straight into the index (through the dialect's own statements):
    // PostgreSQL then walks the documents newest first instead of listing the matches. SQLite answers as always.
    const { db, dialect } = busy.server.store;
    const terms = indexTerms(["crowded junkword filler"]);
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < FEW_MATCHES + 1; i++) {
        const doc = { messageId: `junk-${i}`, roomId: "junk-room", authorId: "junk-author", createdAt: "2000-01-01T00:00:00.000Z", hasFiles: false, terms };
        for (const query of dialect.search.insert(doc)) await trx.executeQuery(query);
      }
    });
    const indexed = await sql<{ n: number | string }>`SELECT count(*) AS n FROM search_documents`.execute(db);
    expect(Number(indexed.rows[0]!.n)).toBe(FEW_MATCHES + 1);
  }, 120_000);
  afterAll(() => busy.destroy());

  it("pages in order for both sorts, counts, and filters by room, author and day as with few matches", async () => {
    const me = await signup(busy.baseUrl, "me");
    const bob = await signup(busy.baseUrl, "bob");
    const room = await createRoom(me);
    const other = await createRoom(me);
    expect((await bob.post(`/rooms/${room}/join`)).status).toBe(200);
    const sent = await sendAll(me, room, Array.from({ length: 25 }, (_, i) => (i % 5 === 0 ? "junkword junkword junkword" : "junkword and more")));
    const [bobs] = await sendAll(bob, room, ["junkword from bob"]);
    const [elsewhere] = await sendAll(me, other, ["junkword elsewhere too"]);
    const all = [...sent, bobs!, elsewhere!];
    const newestFirst = [...all].reverse().map((m) => m.id);
    for (const sort of ["date", "relevance"] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 5; pages++) {
        const page: SearchResponse = await search(me, "junkword", { sort, limit: 10, ...(cursor ? { cursor } : {}) });
        expect(page.total, sort).toBe(27);
        seen.push(...idsOf(page));
        cursor = page.nextCursor;
        if (cursor === null) break;
      }
      expect(cursor, sort).toBeNull();
      expect(new Set(seen).size, sort).toBe(27);
      if (sort === "date") expect(seen).toEqual(newestFirst);
      // Three words each: the five with the word three times first, then the others, newest first within each.
      else expect(seen).toEqual([...newestFirst.filter((id) => sent.findIndex((m) => m.id === id) % 5 === 0), ...newestFirst.filter((id) => sent.findIndex((m) => m.id === id) % 5 !== 0)]);
    }
    await expectFinds(me, "junkword", [elsewhere!], { roomId: other });
    await expectFinds(me, `junkword from:@${bob.user.username}`, [bobs!]);
    const day = dayOf(bobs!.createdAt);
    expect((await search(me, `junkword after:${day}`)).total).toBe(27);
    await expectFinds(me, `junkword before:${day}`, []);
    await expectFinds(me, "junkword bob", [bobs!]);
    await expectFinds(me, "junkword -more -junkword", []);
  });
});
