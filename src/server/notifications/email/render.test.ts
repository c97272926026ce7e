import { describe, expect, it } from "vitest";
import { escapeHtml, previewOf, renderDigest, PREVIEW_CHARS, type DigestEntry } from "./render.js";

const entry = (over: Partial<DigestEntry>): DigestEntry => ({
  roomId: "r1",
  roomName: "general",
  roomKind: "public",
  seq: 1,
  authorName: "Alice",
  createdAt: "2026-12-07T08:37:29.123Z",
  preview: "hello",
  url: "http://chat.example.test/#/rooms/r1/1",
  ...over,
});
const input = (entries: DigestEntry[], total = entries.length) => ({ recipientName: "Bob", entries, total, appUrl: "http://chat.example.test", unsubscribeUrl: "http://chat.example.test/api/v1/notifications/unsubscribe?token=abc" });

describe("email digest rendering", () => {
  it("escapes the five characters that could end an HTML text or attribute", () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe("&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;");
  });

  it("previews on one line, cut to PREVIEW_CHARS by code points (never half an emoji)", () => {
    expect(previewOf("  two\n\nlines\t here ")).toBe("two lines here");
    const long = "😀".repeat(PREVIEW_CHARS + 5);
    const cut = previewOf(long);
    expect(cut).toBe(`${"😀".repeat(PREVIEW_CHARS - 1)}…`);
  });

  it("names the sender in the subject of one direct message, the room of one mention, the count otherwise", () => {
    expect(renderDigest(input([entry({ roomKind: "direct" })])).subject).toBe("New message from Alice");
    expect(renderDigest(input([entry({})])).subject).toBe("Alice mentioned you in #general");
    expect(renderDigest(input([entry({}), entry({ seq: 2 })])).subject).toBe("2 unread messages on Parley");
  });

  it("groups by conversation in order of first appearance, and counts what it does not show", () => {
    const mail = renderDigest(input([entry({ preview: "a" }), entry({ roomId: "d", roomKind: "direct", authorName: "Cleo", preview: "b" }), entry({ preview: "c", seq: 3 })], 5));
    expect(mail.text.indexOf("#general")).toBeLessThan(mail.text.indexOf("Direct message from Cleo"));
    // "c" sits with "a" under #general, before the direct conversation.
    expect(mail.text.indexOf("Alice, 2026-12-07 08:37 UTC: c")).toBeLessThan(mail.text.indexOf("Direct message from Cleo"));
    expect(mail.text).toContain("…and 2 more: http://chat.example.test");
    expect(mail.html).toContain("…and 2 more in");
    expect(mail.text).toContain("Stop these emails: http://chat.example.test/api/v1/notifications/unsubscribe?token=abc");
  });

  it("escapes names and text in the HTML body, keeps them as typed in the text body", () => {
    const mail = renderDigest({ ...input([entry({ authorName: "<b>Al</b>", roomName: "<i>r</i>", preview: "<img src=x onerror=alert(1)>" })]), recipientName: "<script>" });
    for (const raw of ["<b>Al", "<i>r", "<img", "<script>"]) expect(mail.html).not.toContain(raw);
    expect(mail.html).toContain("&#60;img src=x onerror=alert(1)&#62;");
    expect(mail.text).toContain("<img src=x onerror=alert(1)>");
  });
});
