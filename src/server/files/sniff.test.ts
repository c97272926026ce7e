import { describe, expect, it } from "vitest";
import * as sample from "../../../test/support/sample-files.js";
import { classify, isInlineType, sniffBytes, type SniffHints } from "./sniff.js";

const none: SniffHints = { voice: false, partType: undefined };

/**
 * The sniffer on real bytes of each kind (test/support/sample-files.ts):
 * the type comes from the content, and only raster images, audio and video
 * are ever shown inline.
 */
describe("sniffBytes", () => {
  it("knows each kind by its content", async () => {
    const cases: [string, Buffer, string, string][] = [
      ["png", await sample.png(), "image/png", "image"],
      ["jpeg", await sample.sidewaysJpegWithGps(), "image/jpeg", "image"],
      ["gif", await sample.gif(), "image/gif", "image"],
      ["animated gif", await sample.animatedGif(), "image/gif", "image"],
      ["webp", await sample.webp(), "image/webp", "image"],
      ["avif", await sample.avif(), "image/avif", "image"],
      ["pdf", sample.pdf(), "application/pdf", "file"],
      ["zip", sample.zip([{ name: "a.txt", data: "a" }]), "application/zip", "file"],
      ["docx (a zip)", sample.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "file"],
      ["plain text", sample.text(), "application/octet-stream", "file"],
      ["webm", sample.webmHead(), "video/webm", "video"],
      ["ogg opus", sample.oggOpusHead(), "audio/ogg", "audio"],
      ["mp4", sample.mp4Head(), "video/mp4", "video"],
      ["html", sample.html(), "application/octet-stream", "file"],
      ["unknown bytes", sample.unknownBytes(), "application/octet-stream", "file"],
    ];
    for (const [what, bytes, mime, kind] of cases) expect(await sniffBytes(bytes, none), what).toEqual({ mime, kind });
  });

  it("never takes SVG for an image to show, nor HTML for a page", async () => {
    for (const bytes of [sample.svg(), Buffer.from(`<?xml version="1.0"?>\n${sample.svg().toString()}`), sample.html()]) {
      const found = await sniffBytes(bytes, { voice: false, partType: "image/svg+xml" });
      expect(found.kind).toBe("file");
      expect(isInlineType(found.mime)).toBe(false);
      expect(found.mime).not.toMatch(/html|svg/);
    }
  });

  it("lets the uploader's word make a WebM, Ogg or MP4 container audio, never anything else", async () => {
    expect(await sniffBytes(sample.webmHead(), { voice: true, partType: undefined })).toEqual({ mime: "audio/webm", kind: "audio" });
    expect(await sniffBytes(sample.webmHead(), { voice: false, partType: "audio/webm;codecs=opus" })).toEqual({ mime: "audio/webm", kind: "audio" });
    expect(await sniffBytes(sample.mp4Head(), { voice: false, partType: "audio/mp4" })).toEqual({ mime: "audio/mp4", kind: "audio" });
    expect(await sniffBytes(sample.webmHead(), { voice: false, partType: "video/webm" })).toEqual({ mime: "video/webm", kind: "video" });
    // A part type never makes an image, a page or an unknown file anything else.
    expect(await sniffBytes(sample.html(), { voice: true, partType: "audio/webm" })).toEqual({ mime: "application/octet-stream", kind: "file" });
    expect(await sniffBytes(await sample.png(), { voice: true, partType: "audio/webm" })).toEqual({ mime: "image/png", kind: "image" });
  });
});

describe("classify", () => {
  it("names types as browsers do and drops parameters", () => {
    expect(classify("audio/ogg; codecs=opus", none)).toEqual({ mime: "audio/ogg", kind: "audio" });
    expect(classify("audio/x-flac", none)).toEqual({ mime: "audio/flac", kind: "audio" });
    expect(classify("audio/x-wav", none)).toEqual({ mime: "audio/wav", kind: "audio" });
    expect(classify("audio/mpeg", none)).toEqual({ mime: "audio/mpeg", kind: "audio" });
    expect(classify("video/ogg", none)).toEqual({ mime: "video/ogg", kind: "video" });
    expect(classify(undefined, none)).toEqual({ mime: "application/octet-stream", kind: "file" });
  });

  it("takes HEIC and HEIF for images (kept as files if they do not decode), other image types for files", () => {
    expect(classify("image/heic", none)).toEqual({ mime: "image/heic", kind: "image" });
    expect(classify("image/heif", none)).toEqual({ mime: "image/heif", kind: "image" });
    for (const mime of ["image/tiff", "image/bmp", "image/x-icon", "image/vnd.adobe.photoshop", "image/jxl", "video/quicktime", "video/x-matroska"]) {
      expect(classify(mime, none).kind, mime).toBe("file");
    }
  });
});

describe("isInlineType", () => {
  it("allows the re-encoded raster images, audio and video, and nothing else", () => {
    for (const mime of ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "audio/webm", "audio/ogg", "audio/mpeg", "audio/mp4", "audio/wav", "audio/flac", "video/mp4", "video/webm", "video/ogg"]) {
      expect(isInlineType(mime), mime).toBe(true);
    }
    for (const mime of ["text/html", "image/svg+xml", "application/xml", "text/xml", "application/pdf", "text/plain", "application/octet-stream", "image/heic", "image/tiff", "application/javascript", "text/css"]) {
      expect(isInlineType(mime), mime).toBe(false);
    }
  });
});
