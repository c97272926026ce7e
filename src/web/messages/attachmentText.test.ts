import { describe, expect, it } from "vitest";
import { attachmentsSummary, textOrFiles } from "./attachmentText";

const image = { kind: "image" as const, name: "a.png" };
const pdf = { kind: "file" as const, name: "report.pdf" };

describe("attachmentsSummary", () => {
  it("says one file by its kind or name, several by their count", () => {
    expect(attachmentsSummary([])).toBe("");
    expect(attachmentsSummary([image])).toBe("Photo");
    expect(attachmentsSummary([pdf])).toBe("report.pdf");
    expect(attachmentsSummary([{ kind: "audio", name: "note.webm", voice: true }])).toBe("Voice note");
    expect(attachmentsSummary([{ kind: "video", name: "clip.mp4" }])).toBe("Video");
    expect(attachmentsSummary([image, image, image])).toBe("3 photos");
    expect(attachmentsSummary([image, pdf])).toBe("2 files");
  });

  it("keeps a message's text when it has some", () => {
    expect(textOrFiles({ body: "look", attachments: [image] })).toBe("look");
    expect(textOrFiles({ body: "", attachments: [image, image] })).toBe("2 photos");
    expect(textOrFiles({ body: "" })).toBe("");
  });
});
