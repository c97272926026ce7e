import { describe, expect, it } from "vitest";
import type { Attachment } from "@shared/protocol/index.js";
import {
  EMPTY_QUEUE,
  MAX_ATTACHMENTS,
  added,
  cancelled,
  failed,
  finished,
  forgotten,
  percentSent,
  progressed,
  retried,
  sendCheck,
  shown,
  startable,
  started,
  uploadFailure,
  type ChosenFile,
  type UploadQueue,
} from "./uploadQueue";

function file(key: string, size = 1000): ChosenFile {
  return { key, name: `${key}.png`, size, mime: "image/png" };
}

function uploadOf(key: string): Attachment {
  return { id: `u-${key}`, kind: "image", mime: "image/png", name: `${key}.png`, size: 900, url: `/api/v1/files/u-${key}` };
}

function queueOf(...keys: string[]): UploadQueue {
  return added(EMPTY_QUEUE, keys.map((k) => file(k))).queue;
}

const networkDown = uploadFailure(0, "network_error", "");

describe("upload queue", () => {
  it("queues chosen files in order and starts at most three at once, oldest first", () => {
    let queue = queueOf("a", "b", "c", "d", "e");
    expect(queue.map((e) => e.status)).toEqual(["queued", "queued", "queued", "queued", "queued"]);
    expect(startable(queue).map((e) => e.key)).toEqual(["a", "b", "c"]);

    for (const key of ["a", "b", "c"]) queue = started(queue, key);
    expect(startable(queue)).toEqual([]);

    queue = finished(queue, "b", uploadOf("b"));
    expect(startable(queue).map((e) => e.key)).toEqual(["d"]);
  });

  it("goes queued → uploading → done, with progress on the way", () => {
    let queue = started(queueOf("a"), "a");
    expect(queue[0]).toMatchObject({ status: "uploading", sent: 0 });
    queue = progressed(queue, "a", 250);
    expect(percentSent(queue[0]!)).toBe(25);
    // Never past the file's size (the request's multipart framing counts too).
    queue = progressed(queue, "a", 5000);
    expect(queue[0]!.sent).toBe(1000);

    queue = finished(queue, "a", uploadOf("a"));
    expect(queue[0]).toMatchObject({ status: "done", upload: { id: "u-a" } });
    expect(percentSent(queue[0]!)).toBe(100);
    // A late progress event changes nothing.
    expect(progressed(queue, "a", 10)).toBe(queue);
  });

  it("allows sending only when every file is done, with their uploads in the order chosen", () => {
    expect(sendCheck(EMPTY_QUEUE)).toEqual({ ok: true, attachments: [] });

    let queue = queueOf("a", "b");
    expect(sendCheck(queue)).toEqual({ ok: false, reason: "Wait until the files have uploaded." });
    queue = started(started(queue, "a"), "b");
    queue = finished(queue, "b", uploadOf("b"));
    // One done, one still on its way: not half-attached.
    expect(sendCheck(queue).ok).toBe(false);
    queue = finished(queue, "a", uploadOf("a"));
    expect(sendCheck(queue)).toEqual({ ok: true, attachments: [uploadOf("a"), uploadOf("b")] });
  });

  it("blocks the send while a file has failed, until it is retried and done or removed", () => {
    let queue = started(started(queueOf("a", "b"), "a"), "b");
    queue = finished(queue, "a", uploadOf("a"));
    queue = failed(queue, "b", networkDown);
    expect(queue[1]).toMatchObject({ status: "failed", failure: { code: "network_error" } });
    expect(sendCheck(queue)).toEqual({ ok: false, reason: "A file did not upload: retry it or remove it." });

    const retriedQueue = retried(queue, "b");
    expect(retriedQueue[1]).toMatchObject({ status: "queued", failure: null });
    expect(startable(retriedQueue).map((e) => e.key)).toEqual(["b"]);

    const removed = forgotten(queue, "b");
    expect(sendCheck(removed)).toEqual({ ok: true, attachments: [uploadOf("a")] });
  });

  it("hides a cancelled file at once and keeps it cancelled when its request still answers", () => {
    let queue = started(queueOf("a", "b"), "a");
    queue = cancelled(queue, "a");
    expect(queue[0]!.status).toBe("cancelled");
    expect(shown(queue).map((e) => e.key)).toEqual(["b"]);
    // It no longer holds an upload slot, and its late answer does not bring it back.
    expect(startable(queue).map((e) => e.key)).toEqual(["b"]);
    expect(finished(queue, "a", uploadOf("a"))).toBe(queue);
    expect(failed(queue, "a", networkDown)).toBe(queue);
    // The send does not wait for it.
    queue = finished(started(queue, "b"), "b", uploadOf("b"));
    expect(sendCheck(queue)).toEqual({ ok: true, attachments: [uploadOf("b")] });
    // Done and failed files are removed, not cancelled.
    expect(cancelled(queue, "b")).toBe(queue);
  });

  it("takes at most ten files per message and says how many were left out", () => {
    const first = added(EMPTY_QUEUE, Array.from({ length: 7 }, (_, i) => file(`f${i}`)));
    expect(first.leftOut).toBe(0);
    const second = added(first.queue, Array.from({ length: 5 }, (_, i) => file(`g${i}`)));
    expect(MAX_ATTACHMENTS).toBe(10);
    expect(shown(second.queue)).toHaveLength(10);
    expect(second.leftOut).toBe(2);
    expect(added(second.queue, [file("h")])).toEqual({ queue: second.queue, leftOut: 1 });
    // A cancelled file frees its place.
    const freed = cancelled(second.queue, "f0");
    expect(added(freed, [file("h")]).leftOut).toBe(0);
  });

  it("ignores changes to unknown entries and out-of-order transitions", () => {
    const queue = queueOf("a");
    expect(started(queue, "nope")).toBe(queue);
    expect(finished(queue, "a", uploadOf("a"))).toBe(queue); // queued, not uploading
    expect(retried(queue, "a")).toBe(queue); // not failed
    expect(forgotten(queue, "nope")).toBe(queue);
  });
});

describe("uploadFailure", () => {
  it("says why in words for each refusal", () => {
    expect(uploadFailure(413, "payload_too_large", "Files are limited to 25 MiB.").text).toBe("Too large to upload. Files are limited to 25 MiB.");
    expect(uploadFailure(415, "unsupported_media_type", "x").text).toBe("This file could not be read as an image.");
    expect(uploadFailure(409, "limit_reached", "x").text).toContain("quota");
    expect(uploadFailure(429, "rate_limited", "x", 7).text).toBe("Too many uploads: try again in 7 s.");
    expect(uploadFailure(429, "rate_limited", "x").text).toBe("Too many uploads: try again shortly.");
    expect(networkDown.text).toContain("Check your connection");
    expect(uploadFailure(400, "validation_failed", "The file is empty.").text).toBe("The file is empty.");
    expect(uploadFailure(502, "http_502", "").text).toBe("The upload failed (502).");
  });
});
