/**
 * A message's files said in words (issue 17), where a message of files
 * only has no text to show: the conversation list's preview ("Bob: Photo")
 * and what the screen reader announcer says when it arrives ("Bob: 2
 * photos"), as WhatsApp and Signal word them.
 */
import type { Attachment } from "@shared/protocol/index.js";

/** "Photo", "Voice note", "Video", a file's name; "3 photos" when all are images, else "3 files"; "" for none. */
export function attachmentsSummary(attachments: readonly Pick<Attachment, "kind" | "name" | "voice">[]): string {
  const [first] = attachments;
  if (!first) return "";
  if (attachments.length > 1) {
    const allImages = attachments.every((a) => a.kind === "image" && !a.voice);
    return `${attachments.length} ${allImages ? "photos" : "files"}`;
  }
  if (first.voice) return "Voice note";
  if (first.kind === "image") return "Photo";
  if (first.kind === "video") return "Video";
  return first.name;
}

/** The text of a message for a one-line summary: its body, or its files in words when it has no text. */
export function textOrFiles(message: { body: string; attachments?: readonly Pick<Attachment, "kind" | "name" | "voice">[] | undefined }): string {
  return message.body.trim() === "" ? attachmentsSummary(message.attachments ?? []) : message.body;
}
