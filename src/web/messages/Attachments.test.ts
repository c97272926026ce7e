import { describe, expect, it } from "vitest";
import { downloadUrl } from "@web/api/uploads";
import { fileKind, mediaBox } from "./Attachments";

describe("mediaBox", () => {
  it("keeps an image's proportions, scaled down to fit 320 px, never up", () => {
    expect(mediaBox(800, 400)).toEqual({ width: 320, height: 160 });
    expect(mediaBox(300, 600)).toEqual({ width: 160, height: 320 });
    expect(mediaBox(1920, 1080)).toEqual({ width: 320, height: 180 });
    expect(mediaBox(120, 90)).toEqual({ width: 120, height: 90 });
  });

  it("gives a thin strip a tile one can still tap, and unknown dimensions a square", () => {
    expect(mediaBox(10, 2000)).toEqual({ width: 64, height: 320 });
    expect(mediaBox(4000, 20)).toEqual({ width: 320, height: 64 });
    expect(mediaBox(undefined, 100)).toEqual({ width: 240, height: 240 });
  });
});

describe("fileKind", () => {
  it("names known document types by their sniffed type, others by their extension", () => {
    expect(fileKind({ mime: "application/pdf", name: "minutes" })).toEqual({ short: "PDF", label: "PDF document" });
    expect(fileKind({ mime: "application/octet-stream", name: "backup.tar.zst" })).toEqual({ short: "ZST", label: "ZST file" });
    expect(fileKind({ mime: "application/octet-stream", name: "README" })).toEqual({ short: "", label: "File" });
    // The name never claims a type the content does not have: a ".pdf" that is not one is labelled by its extension only.
    expect(fileKind({ mime: "application/octet-stream", name: "invoice.pdf" })).toEqual({ short: "PDF", label: "PDF file" });
  });
});

describe("downloadUrl", () => {
  it("asks the server for an attachment download", () => {
    expect(downloadUrl({ url: "/api/v1/files/abc" })).toBe("/api/v1/files/abc?download=1");
    expect(downloadUrl({ url: "/api/v1/files/abc?v=2" })).toBe("/api/v1/files/abc?v=2&download=1");
  });
});
