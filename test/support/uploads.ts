import { UploadResponseSchema, type Attachment, type AttachmentKind } from "@shared/protocol/attachments.js";
import type { TestServer } from "./server.js";
import type { Caller } from "./client.js";
import { oggOpusHead, pdf, png } from "./sample-files.js";

/** What a test upload is: an image (a 64 × 48 PNG), audio (an Ogg Opus voice note's head) or a file (a PDF). */
export interface TestUpload {
  kind?: Exclude<AttachmentKind, "video">;
}

/** The bytes, file name and part type a kind is uploaded with. */
async function sample(kind: Exclude<AttachmentKind, "video">): Promise<{ data: Buffer; name: string; type: string }> {
  if (kind === "image") return { data: await png(64, 48), name: "picture.png", type: "image/png" };
  if (kind === "audio") return { data: oggOpusHead(), name: "note.ogg", type: "audio/ogg" };
  return { data: pdf(), name: "notes.pdf", type: "application/pdf" };
}

/**
 * A pending upload of `owner`'s, through the real route: POST
 * /api/v1/uploads (multipart, one part `file`) with `owner`'s cookie and
 * CSRF token or Bearer token. The server sniffs, processes and stores it
 * (an image gets a thumbnail).
 * @returns the upload as the route answers it (`{upload}`)
 * @throws Error unless the answer is 201
 */
export async function pendingUpload(t: TestServer, owner: Caller, upload: TestUpload = {}): Promise<Attachment> {
  const { data, name, type } = await sample(upload.kind ?? "file");
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(data)], { type }), name);
  const headers: Record<string, string> = owner.bearer
    ? { authorization: `Bearer ${owner.bearer}` }
    : { cookie: owner.cookie ?? "", "x-csrf-token": owner.csrfToken ?? "" };
  const res = await fetch(`${t.baseUrl}/api/v1/uploads`, { method: "POST", headers, body: form });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${text}`);
  return UploadResponseSchema.parse(JSON.parse(text)).upload;
}

/** Whether the node's file storage holds `key`. */
export async function isStored(t: TestServer, key: string): Promise<boolean> {
  const found = await t.server.files.get(key);
  found?.body.destroy();
  return found !== null;
}

/** The storage keys of an upload (its file, and an image's thumbnail), from its row; [] once the row is gone. */
export async function storageKeysOf(t: TestServer, uploadId: string): Promise<string[]> {
  const [row] = await t.server.store.db.selectFrom("uploads").select(["storage_key", "thumbnail_key"]).where("id", "=", uploadId).execute();
  return row ? [row.storage_key, ...(row.thumbnail_key ? [row.thumbnail_key] : [])] : [];
}
