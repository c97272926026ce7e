import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import sharp from "sharp";
import { AttachmentSchema, UploadResponseSchema, type Attachment } from "@shared/protocol/attachments.js";
import type { ErrorBody } from "@shared/protocol/errors.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { Caller, createRoom, signup, signupBot, unique, type HttpAnswer } from "../support/client.js";
import { rawHttp } from "../support/raw-http.js";
import * as sample from "../support/sample-files.js";
import { startTestS3, type TestS3 } from "../support/s3.js";

/**
 * Issue 17 items 2, 3, 5 and 8 over real HTTP: uploads of every kind read
 * back with their sniffed type and the serving headers; images re-encoded
 * upright without EXIF, with thumbnails, animations kept; every limit hit
 * (size before the body is read and as it streams, form fields, quota,
 * rate, pixels) and every kind of bad input refused with its code and
 * nothing stored (no row, no object, no temporary file); who may read a
 * file; ranges, ETags and HEAD.
 */

/** One part of a multipart form written by hand: a text field or a file. */
type Part = { name: string; value: string } | { name: string; filename: string; type?: string; data: Buffer; disposition?: string };

/** A multipart/form-data body (RFC 7578) of `parts`, in order: what FormData cannot send (raw names, odd orders, two files). */
function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `parley-${unique()}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if ("value" in part) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`));
    } else {
      const disposition = part.disposition ?? `form-data; name="${part.name}"; filename="${part.filename}"`;
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${part.type ?? "application/octet-stream"}\r\n\r\n`), part.data, Buffer.from("\r\n"));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The caller's credentials as headers (cookie + CSRF unless `csrf: false`, or Bearer). */
function authHeaders(caller: Caller, opts: { csrf?: boolean } = {}): Record<string, string> {
  if (caller.bearer) return { authorization: `Bearer ${caller.bearer}` };
  const headers: Record<string, string> = { cookie: caller.cookie ?? "" };
  if (opts.csrf !== false && caller.csrfToken) headers["x-csrf-token"] = caller.csrfToken;
  return headers;
}

/** POST /uploads with `parts` as `caller`. */
async function upload(caller: Caller, parts: Part[], opts: { csrf?: boolean } = {}): Promise<HttpAnswer<unknown>> {
  const { body, contentType } = multipart(parts);
  const res = await fetch(`${caller.baseUrl}/api/v1/uploads`, { method: "POST", headers: { ...authHeaders(caller, opts), "content-type": contentType }, body: new Uint8Array(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null, headers: res.headers };
}

/** Uploads one file and returns the pending upload; fails unless 201. */
async function uploaded(caller: Caller, filename: string, data: Buffer, more: Part[] = [], type?: string): Promise<Attachment> {
  const res = await upload(caller, [...more, { name: "file", filename, data, ...(type ? { type } : {}) }]);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return UploadResponseSchema.parse(res.body).upload;
}

/** GET (or another method) of a path under the server as `caller`; the body as bytes. */
async function read(caller: Caller, url: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(`${caller.baseUrl}${url}`, { method, headers: { ...authHeaders(caller), ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** An error answer: its status and code, and (for validation) the path of its first detail. */
function expectError(res: { status: number; body: unknown }, status: number, code: string, detailPath?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as ErrorBody;
  expect(body.error.code).toBe(code);
  if (detailPath !== undefined) expect(body.error.details?.[0]?.path).toBe(detailPath);
}

/** What a node holds of uploads: rows, stored objects, temporary files. */
async function holdings(t: TestServer): Promise<{ rows: number; objects: string[]; temporary: string[] }> {
  const rows = await t.server.store.db.selectFrom("uploads").select((eb) => eb.fn.countAll<number | string>().as("n")).executeTakeFirstOrThrow();
  const objects: string[] = [];
  for await (const { key } of t.server.files.list()) objects.push(key);
  const tmp = path.join(t.dataDir, "tmp");
  const temporary = fs.existsSync(tmp) ? fs.readdirSync(tmp) : [];
  return { rows: Number(rows.n), objects: objects.sort(), temporary };
}

const CSP = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'";
/** sharp's format names (AVIF is a HEIF) as media types. */
const SHARP_FORMATS: Record<string, string> = { png: "image/png", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", heif: "image/avif" };

describe("uploads: kinds, images and serving", () => {
  let t: TestServer;
  let alice: Caller; // cookie session
  let bot: Caller; // Bearer token
  beforeAll(async () => {
    t = await startTestServer({ uploadsPerMinute: 100_000 });
    [alice, bot] = await Promise.all([signup(t.baseUrl, "alice"), signupBot(t.baseUrl, "bot")]);
  });
  afterAll(() => t.destroy());

  it("requires authentication, and the CSRF token with a cookie", async () => {
    const anonymous = new Caller(t.baseUrl);
    expectError(await upload(anonymous, [{ name: "file", filename: "a.txt", data: sample.text() }]), 401, "unauthenticated");
    expectError(await upload(alice, [{ name: "file", filename: "a.txt", data: sample.text() }], { csrf: false }), 403, "forbidden", "X-CSRF-Token");
    const file = await uploaded(alice, "a.txt", sample.text());
    expect((await read(anonymous, file.url)).status).toBe(401);
    expect(await holdings(t)).toMatchObject({ rows: 1, temporary: [] });
  });

  it("stores every kind and serves it with its sniffed type, its size, and inline only for images, audio and video", async () => {
    const cases: { name: string; data: Buffer; type?: string; fields?: Part[]; kind: string; mime: string | RegExp; inline: boolean }[] = [
      { name: "photo.png", data: await sample.png(), kind: "image", mime: "image/png", inline: true },
      { name: "still.gif", data: await sample.gif(), kind: "image", mime: "image/gif", inline: true },
      { name: "pic.webp", data: await sample.webp(), kind: "image", mime: "image/webp", inline: true },
      { name: "pic.avif", data: await sample.avif(), kind: "image", mime: "image/avif", inline: true },
      { name: "report.pdf", data: sample.pdf(), kind: "file", mime: "application/pdf", inline: false },
      { name: "archive.zip", data: sample.zip([{ name: "hello.txt", data: "hello" }]), kind: "file", mime: "application/zip", inline: false },
      { name: "letter.docx", data: sample.docx(), kind: "file", mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", inline: false },
      { name: "notes.txt", data: sample.text(), type: "text/plain", kind: "file", mime: "application/octet-stream", inline: false },
      { name: "note.webm", data: sample.webmHead(), type: "audio/webm", kind: "audio", mime: "audio/webm", inline: true },
      { name: "clip.webm", data: sample.webmHead(), type: "video/webm", kind: "video", mime: "video/webm", inline: true },
      { name: "song.ogg", data: sample.oggOpusHead(), kind: "audio", mime: "audio/ogg", inline: true },
      { name: "film.mp4", data: sample.mp4Head(), type: "video/mp4", kind: "video", mime: "video/mp4", inline: true },
      // The name and the part's type never decide: an HTML file called x.png is a download, a PNG called x.pdf an image.
      { name: "x.png", data: sample.html(), type: "image/png", kind: "file", mime: "application/octet-stream", inline: false },
      { name: "logo.svg", data: sample.svg(), type: "image/svg+xml", kind: "file", mime: /^application\//, inline: false },
      { name: "x.pdf", data: await sample.png(), type: "application/pdf", kind: "image", mime: "image/png", inline: true },
      { name: "data.bin", data: sample.unknownBytes(), kind: "file", mime: "application/octet-stream", inline: false },
    ];
    for (const c of cases) {
      const caller = c.inline ? bot : alice;
      const file = await uploaded(caller, c.name, c.data, c.fields, c.type);
      const where = `${c.name} → ${JSON.stringify(file)}`;
      expect(AttachmentSchema.parse(file), where).toMatchObject({ kind: c.kind, name: c.name, url: `/api/v1/files/${file.id}` });
      expect(file.mime, where).toMatch(c.mime);
      expect(file.id, where).toMatch(/^[0-9a-f]{32}$/);
      const res = await read(caller, file.url);
      expect(res.status, where).toBe(200);
      expect(res.headers.get("content-type"), where).toBe(file.mime);
      expect(res.headers.get("content-type"), where).not.toMatch(/^text\/html|svg|^(application|text)\/xml|javascript/);
      expect(res.headers.get("x-content-type-options"), where).toBe("nosniff");
      expect(res.headers.get("content-security-policy"), where).toBe(CSP);
      expect(res.headers.get("content-disposition"), where).toBe(`${c.inline ? "inline" : "attachment"}; filename="${c.name}"; filename*=UTF-8''${c.name}`);
      expect(res.headers.get("etag"), where).toBe(`"${file.id}"`);
      expect(res.headers.get("cache-control"), where).toBe("private, max-age=31536000, immutable");
      expect(res.headers.get("accept-ranges"), where).toBe("bytes");
      expect(res.bytes.length, where).toBe(file.size);
      if (c.kind === "image") {
        // Re-encoded: a valid image of the type said, and its size as stored.
        expect(SHARP_FORMATS[(await sharp(res.bytes).metadata()).format ?? ""], where).toBe(file.mime);
        expect(file.thumbnailUrl, where).toBe(`${file.url}/thumbnail`);
      } else {
        // Everything else is kept byte for byte.
        expect(res.bytes.equals(c.data), where).toBe(true);
        expect(file.thumbnailUrl, where).toBeUndefined();
        expect((await read(caller, `${file.url}/thumbnail`)).status, where).toBe(404);
      }
      // Anyone may ask for a download instead.
      const download = await read(caller, `${file.url}?download=1`);
      expect(download.headers.get("content-disposition"), where).toMatch(/^attachment; /);
    }
  });

  it("keeps a voice note's duration and waveform; a plain audio or video file keeps only its duration", async () => {
    const voice = await uploaded(alice, "voice.webm", sample.webmHead(), [
      { name: "voice", value: "true" },
      { name: "durationMs", value: "4200" },
      { name: "waveform", value: "0,12,255,128" },
    ]);
    // Sniffed as a WebM container (video/webm); voice=true makes it the audio it is.
    expect(voice).toMatchObject({ kind: "audio", mime: "audio/webm", voice: true, durationMs: 4200, waveform: [0, 12, 255, 128] });
    const clip = await uploaded(alice, "clip.mp4", sample.mp4Head(), [
      { name: "durationMs", value: "1500" },
      { name: "waveform", value: "1,2,3" },
    ]);
    expect(clip).toMatchObject({ kind: "video", mime: "video/mp4", durationMs: 1500 });
    expect(clip.waveform).toBeUndefined();
    expect(clip.voice).toBeUndefined();
    // voice=true on something that is not audio: ignored.
    const notVoice = await uploaded(alice, "p.png", await sample.png(), [{ name: "voice", value: "true" }, { name: "durationMs", value: "5" }]);
    expect(notVoice.voice).toBeUndefined();
    expect(notVoice.durationMs).toBeUndefined();
  });

  it("serves a sideways JPEG upright, with no EXIF (GPS included) in the file or its thumbnail", async () => {
    const original = await sample.sidewaysJpegWithGps();
    const before = await sharp(original).metadata();
    expect(before).toMatchObject({ width: 60, height: 40, orientation: 6 });
    expect(before.exif?.includes(Buffer.from("Parley test"))).toBe(true);

    const file = await uploaded(alice, "IMG_0001.JPG", original);
    expect(file).toMatchObject({ kind: "image", mime: "image/jpeg", width: 40, height: 60 });
    const served = await read(alice, file.url);
    const meta = await sharp(served.bytes).metadata();
    expect(meta).toMatchObject({ format: "jpeg", width: 40, height: 60 });
    expect(meta.orientation).toBeUndefined();
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    // No trace of the EXIF block at all (its copyright and GPS tags were in it).
    expect(served.bytes.includes(Buffer.from("Exif\0\0"))).toBe(false);
    expect(served.bytes.includes(Buffer.from("Parley test"))).toBe(false);
    // Turned the right way: the red left half of the stored pixels is now on top.
    const { data, info } = await sharp(served.bytes).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    const [topRed, , topBlue] = pixel(20, 5);
    const [bottomRed, , bottomBlue] = pixel(20, 55);
    expect(topRed).toBeGreaterThan(200);
    expect(topBlue).toBeLessThan(60);
    expect(bottomBlue).toBeGreaterThan(200);
    expect(bottomRed).toBeLessThan(60);

    const thumb = await read(alice, file.thumbnailUrl!);
    const thumbMeta = await sharp(thumb.bytes).metadata();
    expect(thumbMeta).toMatchObject({ format: "webp", width: 40, height: 60 });
    expect(thumbMeta.exif).toBeUndefined();
  });

  it("makes a WebP thumbnail that fits 480 × 480, never larger than the image", async () => {
    const big = await uploaded(alice, "wide.png", await sample.png(1000, 500));
    expect(big).toMatchObject({ width: 1000, height: 500, thumbnailWidth: 480, thumbnailHeight: 240 });
    const thumb = await read(alice, big.thumbnailUrl!);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toBe("image/webp");
    expect(thumb.headers.get("etag")).toBe(`"${big.id}.t"`);
    expect(thumb.headers.get("content-disposition")).toBe(`inline; filename="wide.webp"; filename*=UTF-8''wide.webp`);
    expect(thumb.headers.get("x-content-type-options")).toBe("nosniff");
    expect(thumb.headers.get("content-security-policy")).toBe(CSP);
    expect(await sharp(thumb.bytes).metadata()).toMatchObject({ format: "webp", width: 480, height: 240 });

    const tall = await uploaded(alice, "tall.png", await sample.png(300, 900));
    expect(tall).toMatchObject({ thumbnailWidth: 160, thumbnailHeight: 480 });
    const small = await uploaded(alice, "small.png", await sample.png(64, 48));
    expect(small).toMatchObject({ width: 64, height: 48, thumbnailWidth: 64, thumbnailHeight: 48 });
  });

  it("keeps an animated GIF animated, and its thumbnail too", async () => {
    const original = await sample.animatedGif(32, 24, 3);
    expect((await sharp(original).metadata()).pages).toBe(3);
    const file = await uploaded(alice, "dance.gif", original);
    expect(file).toMatchObject({ kind: "image", mime: "image/gif", width: 32, height: 24 });
    const served = await sharp((await read(alice, file.url)).bytes).metadata();
    expect(served).toMatchObject({ format: "gif", pages: 3 });
    const thumb = await sharp((await read(alice, file.thumbnailUrl!)).bytes).metadata();
    expect(thumb).toMatchObject({ format: "webp", pages: 3 });
  });

  it("answers one byte range with 206, an unsatisfiable one with 416, and serves the whole file otherwise", async () => {
    const data = sample.unknownBytes();
    const file = await uploaded(bot, "data.bin", data);
    const range = async (header: string, more: Record<string, string> = {}) => read(bot, file.url, { range: header, ...more });

    const first = await range("bytes=0-3");
    expect(first.status).toBe(206);
    expect(first.headers.get("content-range")).toBe(`bytes 0-3/${data.length}`);
    expect(first.headers.get("content-length")).toBe("4");
    expect(first.bytes.equals(data.subarray(0, 4))).toBe(true);
    expect(first.headers.get("content-disposition")).toMatch(/^attachment; /);
    expect(first.headers.get("x-content-type-options")).toBe("nosniff");

    const suffix = await range("bytes=-5");
    expect(suffix.status).toBe(206);
    expect(suffix.bytes.equals(data.subarray(data.length - 5))).toBe(true);
    const open = await range("bytes=10-");
    expect(open.headers.get("content-range")).toBe(`bytes 10-${data.length - 1}/${data.length}`);
    expect(open.bytes.equals(data.subarray(10))).toBe(true);
    // Past the end is cut to the end.
    expect((await range("bytes=12-99999")).bytes.equals(data.subarray(12))).toBe(true);

    const outside = await range(`bytes=${data.length}-`);
    expect(outside.status).toBe(416);
    expect(outside.headers.get("content-range")).toBe(`bytes */${data.length}`);
    expect(JSON.parse(outside.bytes.toString())).toMatchObject({ error: { code: "range_not_satisfiable" } });

    // Several ranges, a malformed one, another unit, an If-Range of another version: the whole file.
    for (const [header, more] of [["bytes=0-1,4-5", {}], ["bytes=x-y", {}], ["items=0-1", {}], ["bytes=0-1", { "if-range": '"other"' }]] as const) {
      const whole = await range(header, more);
      expect(whole.status, header).toBe(200);
      expect(whole.bytes.equals(data), header).toBe(true);
    }
    expect((await range("bytes=0-1", { "if-range": `"${file.id}"` })).status).toBe(206);
  });

  it("answers If-None-Match with 304 and no body; HEAD with the headers and no body", async () => {
    const file = await uploaded(alice, "p.png", await sample.png());
    for (const tag of [`"${file.id}"`, `W/"${file.id}"`, `"x", "${file.id}"`, "*"]) {
      const res = await read(alice, file.url, { "if-none-match": tag });
      expect(res.status, tag).toBe(304);
      expect(res.bytes.length, tag).toBe(0);
      expect(res.headers.get("etag"), tag).toBe(`"${file.id}"`);
    }
    expect((await read(alice, file.url, { "if-none-match": '"other"' })).status).toBe(200);
    expect((await read(alice, file.thumbnailUrl!, { "if-none-match": `"${file.id}.t"` })).status).toBe(304);
    // The thumbnail's tag is not the file's.
    expect((await read(alice, file.thumbnailUrl!, { "if-none-match": `"${file.id}"` })).status).toBe(200);

    const head = await read(alice, file.url, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.bytes.length).toBe(0);
    expect(head.headers.get("content-length")).toBe(String(file.size));
    expect(head.headers.get("content-type")).toBe("image/png");
    const headRange = await read(alice, file.url, { range: "bytes=0-9" }, "HEAD");
    expect(headRange.status).toBe(206);
    expect(headRange.headers.get("content-length")).toBe("10");
    const thumbHead = await read(alice, file.thumbnailUrl!, {}, "HEAD");
    expect(thumbHead.status).toBe(200);
    expect(Number(thumbHead.headers.get("content-length"))).toBe((await read(alice, file.thumbnailUrl!)).bytes.length);
  });
});

describe("uploads: who may read and cancel", () => {
  let t: TestServer;
  let alice: Caller;
  let bob: Caller;
  let carol: Caller;
  beforeAll(async () => {
    t = await startTestServer({ uploadsPerMinute: 100_000 });
    [alice, bob, carol] = await Promise.all([signup(t.baseUrl, "alice"), signup(t.baseUrl, "bob"), signup(t.baseUrl, "carol")]);
  });
  afterAll(() => t.destroy());

  /** Marks an upload attached to a message of `roomId`, as a send does (messages part). */
  const attach = (id: string, roomId: string) =>
    t.server.store.db.updateTable("uploads").set({ state: "attached", room_id: roomId, message_id: `m-${unique()}`, attached_at: new Date().toISOString() }).where("id", "=", id).execute();

  it("a pending upload is its uploader's alone: anyone else gets the answer of an unknown id, to read or to cancel", async () => {
    const file = await uploaded(alice, "secret.pdf", sample.pdf());
    expect((await read(alice, file.url)).status).toBe(200);
    const unknown = await read(bob, `/api/v1/files/${"0".repeat(32)}`);
    expect(unknown.status).toBe(404);
    for (const url of [file.url, file.url.replace(file.id, file.id.toUpperCase())]) {
      const res = await read(bob, url);
      expect(res.status).toBe(404);
      expect(res.bytes.toString()).toBe(unknown.bytes.toString());
    }
    expect((await read(bob, file.url, {}, "HEAD")).status).toBe(404);
    expectError(await bob.request("DELETE", `/uploads/${file.id}`), 404, "not_found");
    expect((await read(alice, file.url)).status).toBe(200);
  });

  it("DELETE cancels one's own pending upload: its row and objects go, and it answers 404 from then on", async () => {
    const before = await holdings(t);
    const file = await uploaded(alice, "p.png", await sample.png());
    expect((await holdings(t)).objects.length).toBe(before.objects.length + 2);
    const res = await alice.request("DELETE", `/uploads/${file.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect(await holdings(t)).toEqual(before);
    expect((await read(alice, file.url)).status).toBe(404);
    expect((await read(alice, file.thumbnailUrl!)).status).toBe(404);
    expectError(await alice.request("DELETE", `/uploads/${file.id}`), 404, "not_found");
    expectError(await alice.request("DELETE", `/uploads/no-such-upload`), 404, "not_found");
    // An attached file is the message's now: not cancellable.
    const sent = await uploaded(alice, "sent.pdf", sample.pdf());
    await attach(sent.id, await createRoom(alice, "private"));
    expectError(await alice.request("DELETE", `/uploads/${sent.id}`), 404, "not_found");
  });

  it("an attached file is readable by the room's members only, checked on every request: a member who leaves loses it at once", async () => {
    const roomId = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${roomId}/members`, { userId: bob.user.id })).status).toBe(201);
    const file = await uploaded(alice, "plan.png", await sample.png());
    expect((await read(bob, file.url)).status).toBe(404); // pending: alice's alone
    await attach(file.id, roomId);
    expect((await read(bob, file.url)).status).toBe(200);
    expect((await read(bob, file.thumbnailUrl!)).status).toBe(200);
    expect((await read(alice, file.url)).status).toBe(200);
    expect((await read(carol, file.url)).status).toBe(404);
    expect((await bob.post(`/rooms/${roomId}/leave`)).status).toBe(204);
    expect((await read(bob, file.url)).status).toBe(404);
    expect((await read(bob, file.thumbnailUrl!)).status).toBe(404);

    // A public room: joined members read it; someone who has not joined gets 404, not 403.
    const lobby = await createRoom(alice, "public");
    const shared = await uploaded(alice, "lobby.pdf", sample.pdf());
    await attach(shared.id, lobby);
    expect((await read(carol, shared.url)).status).toBe(404);
    expect((await carol.post(`/rooms/${lobby}/join`)).status).toBe(200);
    expect((await read(carol, shared.url)).status).toBe(200);

    // A deleted file (its message deleted) is gone for everyone.
    await t.server.store.db.updateTable("uploads").set({ state: "deleted", deleted_at: new Date().toISOString() }).where("id", "=", shared.id).execute();
    expect((await read(alice, shared.url)).status).toBe(404);
  });
});

describe("uploads: limits", () => {
  const MAX = 64 * 1024;
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ uploadMaxBytes: MAX, uploadQuotaBytes: 3 * MAX, uploadsPerMinute: 100_000, imageMaxPixels: 1_000_000 });
  });
  afterAll(() => t.destroy());

  it("a Content-Length over the limit is answered 413 before the body is read, and the connection closed", async () => {
    const alice = await signupBot(t.baseUrl, "alice");
    const before = await holdings(t);
    // The body never comes: an answer at all shows nothing waited for it; rawHttp reads until the server closes.
    const res = await rawHttp(
      t.baseUrl,
      `POST /api/v1/uploads HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice.bearer}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`,
    );
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "payload_too_large" } });
    expect(await holdings(t)).toEqual(before);
  });

  it("a file that passes the limit as it streams (no Content-Length) is answered 413 and nothing is kept", async () => {
    const alice = await signupBot(t.baseUrl, "alice");
    const before = await holdings(t);
    const { body, contentType } = multipart([{ name: "file", filename: "big.bin", data: Buffer.alloc(MAX + 1, 7) }]);
    // Chunked: the server cannot know the size before the file passes the limit.
    const chunked = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]);
    const head = `POST /api/v1/uploads HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice.bearer}\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
    const res = await rawHttp(t.baseUrl, Buffer.concat([Buffer.from(head), chunked]));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "payload_too_large" } });
    expect(await holdings(t)).toEqual(before);
    // Exactly the limit is kept.
    const fits = await uploaded(alice, "fits.bin", Buffer.alloc(MAX, 7));
    expect(fits.size).toBe(MAX);
  });

  it("refuses an image whose header claims more pixels than the limit, before decoding it (413)", async () => {
    const alice = await signupBot(t.baseUrl, "alice");
    const before = await holdings(t);
    const bomb = await sample.pngClaiming(20_000, 20_000);
    expect(bomb.length).toBeLessThan(200);
    expectError(await upload(alice, [{ name: "file", filename: "bomb.png", data: bomb }]), 413, "payload_too_large");
    // An animation counts every frame: 600 × 600 × 3 frames is over 1,000,000.
    expectError(await upload(alice, [{ name: "file", filename: "long.gif", data: await sample.animatedGif(600, 600, 3) }]), 413, "payload_too_large");
    expect(await holdings(t)).toEqual(before);
    // Under the limit: kept.
    expect((await uploaded(alice, "ok.png", await sample.png(1000, 1000))).width).toBe(1000);
  });

  it("refuses a form of more than 10 fields, a field over 2 KiB, two files (400), and stores nothing", async () => {
    const alice = await signupBot(t.baseUrl, "alice");
    const before = await holdings(t);
    const file: Part = { name: "file", filename: "a.txt", data: sample.text() };
    const fields = Array.from({ length: 11 }, (_, i): Part => ({ name: `f${i}`, value: "x" }));
    expectError(await upload(alice, [...fields, file]), 400, "validation_failed", "body");
    expectError(await upload(alice, [{ name: "waveform", value: "1,".repeat(1500) + "1" }, file]), 400, "validation_failed", "body.waveform");
    expectError(await upload(alice, [file, { ...file, filename: "b.txt" }]), 400, "validation_failed", "body");
    expect(await holdings(t)).toEqual(before);
    // Ten fields are fine.
    expect((await upload(alice, [...fields.slice(0, 10), file])).status).toBe(201);
  });

  it("refuses an upload past the user's quota with 409 limit_reached; cancelling makes room again", async () => {
    const alice = await signupBot(t.baseUrl, "alice");
    const part = (n: number): Part => ({ name: "file", filename: `${n}.bin`, data: Buffer.alloc(MAX - 100, n) });
    const kept: Attachment[] = [];
    for (let i = 0; i < 3; i++) kept.push(await uploaded(alice, `${i}.bin`, Buffer.alloc(MAX - 100, i)));
    const before = await holdings(t);
    const refused = await upload(alice, [part(3)]);
    expectError(refused, 409, "limit_reached", "quota");
    expect(await holdings(t)).toEqual(before);
    // Someone else's quota is their own.
    expect((await upload(await signupBot(t.baseUrl, "bob"), [part(4)])).status).toBe(201);
    expect((await alice.request("DELETE", `/uploads/${kept[0]!.id}`)).status).toBe(204);
    expect((await upload(alice, [part(5)])).status).toBe(201);
  });
});

describe("uploads: the per-user rate", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ uploadsPerMinute: 2 });
  });
  afterAll(() => t.destroy());
  // The limiter's window is measured with Date.now (the server runs in this process): stopped, it cannot roll over mid-test.
  afterEach(() => vi.restoreAllMocks());

  it("answers 429 with Retry-After past uploadsPerMinute, per user, and stores nothing", async () => {
    const now = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(now);
    const [alice, bob] = await Promise.all([signupBot(t.baseUrl, "alice"), signupBot(t.baseUrl, "bob")]);
    const file: Part = { name: "file", filename: "a.txt", data: sample.text() };
    expect((await upload(alice, [file])).status).toBe(201);
    // A refused upload counts too.
    expect((await upload(alice, [{ name: "other", value: "x" }])).status).toBe(400);
    const before = await holdings(t);
    const limited = await upload(alice, [file]);
    expectError(limited, 429, "rate_limited");
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(await holdings(t)).toEqual(before);
    expect((await upload(bob, [file])).status).toBe(201);
  });
});

describe("uploads: in progress at once, per user", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ uploadsPerMinute: 100_000, uploadsInProgressPerUser: 2 });
  });
  afterAll(() => t.destroy());

  /** An upload whose body stops after the start of its file: it stays in progress until `abort`. */
  function slowUpload(caller: Caller): { abort: () => void } {
    const boundary = `slow-${unique()}`;
    const url = new URL(`${t.baseUrl}/api/v1/uploads`);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: "POST",
      path: url.pathname,
      headers: { ...authHeaders(caller), "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": "100000" },
    });
    req.on("error", () => undefined);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    req.write(Buffer.alloc(1000, 7));
    return { abort: () => req.destroy() };
  }

  it("a user's uploads in progress at once are bounded: one more answers 429 and stores nothing; others' are not counted", async () => {
    const [alice, bob] = await Promise.all([signupBot(t.baseUrl, "alice"), signupBot(t.baseUrl, "bob")]);
    const slow = [slowUpload(alice), slowUpload(alice)];
    try {
      // Both are being received: their temporary files exist.
      await vi.waitFor(async () => expect((await holdings(t)).temporary).toHaveLength(2), { timeout: 10_000, interval: 20 });
      const refused = await upload(alice, [{ name: "file", filename: "a.txt", data: sample.text() }]);
      expectError(refused, 429, "rate_limited");
      expect(await holdings(t)).toMatchObject({ rows: 0 });
      expect((await upload(bob, [{ name: "file", filename: "b.txt", data: sample.text() }])).status).toBe(201);
    } finally {
      for (const s of slow) s.abort();
    }
    // The abandoned uploads end, leave nothing, and free their places.
    await vi.waitFor(async () => expect((await holdings(t)).temporary).toEqual([]), { timeout: 10_000, interval: 20 });
    await vi.waitFor(async () => expect((await upload(alice, [{ name: "file", filename: "a.txt", data: sample.text() }])).status).toBe(201), { timeout: 10_000, interval: 50 });
  });
});

describe("uploads: bad input gets its code and stores nothing", () => {
  let t: TestServer;
  let alice: Caller;
  beforeAll(async () => {
    t = await startTestServer({ uploadsPerMinute: 100_000 });
    alice = await signupBot(t.baseUrl, "alice");
  });
  afterAll(() => t.destroy());

  it("refuses what is not one non-empty file, and fields that are not valid (400)", async () => {
    const before = await holdings(t);
    const file: Part = { name: "file", filename: "a.txt", data: sample.text() };
    expectError(await upload(alice, [{ name: "voice", value: "true" }]), 400, "validation_failed", "body.file");
    expectError(await upload(alice, []), 400, "validation_failed", "body.file");
    expectError(await upload(alice, [{ name: "file", filename: "empty.txt", data: Buffer.alloc(0) }]), 400, "validation_failed", "body.file");
    expectError(await upload(alice, [{ name: "document", filename: "a.txt", data: sample.text() }]), 400, "validation_failed", "body.document");
    expectError(await upload(alice, [{ name: "voice", value: "yes" }, file]), 400, "validation_failed", "body.voice");
    expectError(await upload(alice, [{ name: "durationMs", value: "-1" }, file]), 400, "validation_failed", "body.durationMs");
    expectError(await upload(alice, [{ name: "waveform", value: "1,256" }, file]), 400, "validation_failed", "body.waveform");
    expectError(await upload(alice, [{ name: "waveform", value: Array.from({ length: 257 }, () => "1").join(",") }, file]), 400, "validation_failed", "body.waveform");
    expectError(await upload(alice, [{ name: "voice", value: "true" }, { name: "voice", value: "false" }, file]), 400, "validation_failed", "body.voice");
    // A field after the file is read too: the form is refused whole.
    expectError(await upload(alice, [file, { name: "durationMs", value: "soon" }]), 400, "validation_failed", "body.durationMs");
    // Not multipart at all, and a form cut short.
    expectError(await alice.post("/uploads", { file: "aGVsbG8=" }), 400, "validation_failed", "Content-Type");
    const { body, contentType } = multipart([file]);
    const cut = await fetch(`${t.baseUrl}/api/v1/uploads`, { method: "POST", headers: { ...authHeaders(alice), "content-type": contentType }, body: new Uint8Array(body.subarray(0, body.length - 20)) });
    expectError({ status: cut.status, body: await cut.json() }, 400, "validation_failed");
    expect(await holdings(t)).toEqual(before);
  });

  it("refuses an image that does not decode: truncated, or a GIF header with HTML behind it (415)", async () => {
    const before = await holdings(t);
    const whole = await sample.png(200, 200, "#123456");
    expectError(await upload(alice, [{ name: "file", filename: "cut.png", data: whole.subarray(0, Math.floor(whole.length / 2)) }]), 415, "unsupported_media_type");
    expectError(await upload(alice, [{ name: "file", filename: "x.gif", data: sample.gifHeaderThenHtml() }]), 415, "unsupported_media_type");
    expect(await holdings(t)).toEqual(before);
  });

  it("serves a real GIF with HTML appended as the GIF alone: what is served is re-encoded", async () => {
    const polyglot = Buffer.concat([await sample.gif(), sample.html()]);
    const file = await uploaded(alice, "poly.gif", polyglot);
    expect(file.mime).toBe("image/gif");
    const served = await read(alice, file.url);
    expect(served.bytes.includes(Buffer.from("<script"))).toBe(false);
    expect((await sharp(served.bytes).metadata()).format).toBe("gif");
  });

  it("removes the temporary files a crash left, before the node's first upload", async () => {
    const node = await startTestServer({});
    try {
      const tmp = path.join(node.dataDir, "tmp");
      fs.mkdirSync(tmp, { recursive: true });
      const old = path.join(tmp, "0123.part");
      fs.writeFileSync(old, "left by a crash");
      const anHourAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      fs.utimesSync(old, anHourAgo, anHourAgo);
      await uploaded(await signupBot(node.baseUrl, "alice"), "a.txt", sample.text());
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      await node.destroy();
    }
  });

  it("keeps the base name of the file only, without control or bidi characters", async () => {
    const named = async (disposition: string) => {
      const res = await upload(alice, [{ name: "file", filename: "", disposition, data: sample.pdf() }]);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return UploadResponseSchema.parse(res.body).upload.name;
    };
    expect(await named('form-data; name="file"; filename="../../etc/passwd"')).toBe("passwd");
    expect(await named('form-data; name="file"; filename="C:\\\\Users\\\\ada\\\\cv.pdf"')).toBe("cv.pdf");
    expect(await named("form-data; name=\"file\"; filename*=UTF-8''%07bell%1B%5B31m.pdf")).toBe("bell[31m.pdf");
    expect(await named("form-data; name=\"file\"; filename*=UTF-8''invoice%E2%80%AEfdp.exe")).toBe("invoicefdp.exe");
    expect(await named("form-data; name=\"file\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf")).toBe("résumé.pdf");
    expect(await named('form-data; name="file"; filename=".."')).toBe("file");
    expect(await named('form-data; name="file"')).toBe("file");
    const long = await named(`form-data; name="file"; filename="${"a".repeat(400)}.pdf"`);
    expect(long).toBe(`${"a".repeat(251)}.pdf`);
    // And the header it is served under carries it safely.
    const res = await upload(alice, [{ name: "file", filename: "", disposition: "form-data; name=\"file\"; filename*=UTF-8''na%C3%AFve%20%22quote%22.pdf", data: sample.pdf() }]);
    const file = UploadResponseSchema.parse(res.body).upload;
    expect(file.name).toBe('naïve "quote".pdf');
    expect((await read(alice, file.url)).headers.get("content-disposition")).toBe(
      `attachment; filename="na_ve _quote_.pdf"; filename*=UTF-8''na%C3%AFve%20%22quote%22.pdf`,
    );
  });
});

describe("uploads on an S3 store", () => {
  let s3: TestS3;
  let t: TestServer;
  let alice: Caller;
  beforeAll(async () => {
    s3 = await startTestS3();
    // The SDK's default chain reads these; stubbed for this block only.
    for (const [name, value] of Object.entries(s3.env)) vi.stubEnv(name, value);
    t = await startTestServer({ storageUrl: `${s3.storageUrl}/uploads`, s3Endpoint: s3.endpoint, uploadsPerMinute: 100_000 });
    alice = await signupBot(t.baseUrl, "alice");
  });
  afterAll(async () => {
    await t?.destroy();
    vi.unstubAllEnvs();
    await s3?.stop();
  });

  it("stores an upload and its thumbnail there, serves them whole and in ranges, and cancelling removes them", async () => {
    expect(t.server.files.kind).toBe("s3");
    const image = await uploaded(alice, "p.png", await sample.png(600, 300));
    const doc = await uploaded(alice, "report.pdf", sample.pdf());
    expect((await holdings(t)).objects).toEqual([`${image.id.slice(0, 2)}/${image.id}`, `${image.id.slice(0, 2)}/${image.id}.thumb`, `${doc.id.slice(0, 2)}/${doc.id}`].sort());

    const whole = await read(alice, doc.url);
    expect(whole.status).toBe(200);
    expect(whole.bytes.equals(sample.pdf())).toBe(true);
    const part = await read(alice, doc.url, { range: "bytes=1-4" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 1-4/${doc.size}`);
    expect(part.bytes.toString()).toBe("PDF-");
    const thumb = await read(alice, image.thumbnailUrl!);
    expect(await sharp(thumb.bytes).metadata()).toMatchObject({ format: "webp", width: 480, height: 240 });
    expect(Number((await read(alice, image.thumbnailUrl!, {}, "HEAD")).headers.get("content-length"))).toBe(thumb.bytes.length);

    expect((await alice.request("DELETE", `/uploads/${image.id}`)).status).toBe(204);
    expect(await holdings(t)).toMatchObject({ rows: 1, objects: [`${doc.id.slice(0, 2)}/${doc.id}`], temporary: [] });
  });
});
