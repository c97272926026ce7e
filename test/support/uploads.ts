import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { Insertable } from "kysely";
import type { Attachment, AttachmentKind } from "@shared/protocol/attachments.js";
import type { UploadsTable } from "@server/store/schema.js";
import { attachmentOf } from "@server/messages/attachments.js";
import type { TestServer } from "./server.js";
import type { Caller } from "./client.js";

/** What a test upload is: its kind and type, its display name, its bytes; an image also gets a thumbnail. */
export interface TestUpload {
  kind?: AttachmentKind;
  mime?: string;
  name?: string;
  bytes?: Buffer;
}

/**
 * A pending upload of `owner`'s, as POST /api/v1/uploads leaves one: its
 * bytes (and an image's thumbnail) in the node's file storage under the
 * server's keys, its `uploads` row pending.
 *
 * Made directly through the node's store and storage until the upload route
 * is on this branch; then only this function changes (a multipart POST as
 * `owner`, answering `{upload}`), and every test keeps working.
 * @returns the upload as the route answers it
 */
export async function pendingUpload(t: TestServer, owner: Caller, upload: TestUpload = {}): Promise<Attachment> {
  const id = randomBytes(16).toString("hex");
  const kind = upload.kind ?? "file";
  const mime = upload.mime ?? (kind === "image" ? "image/png" : "application/pdf");
  const bytes = upload.bytes ?? Buffer.from(`%PDF-1.4 test file ${id}\n`);
  const storageKey = `${id.slice(0, 2)}/${id}`;
  const thumbnailKey = kind === "image" ? `${storageKey}.thumb` : null;
  await t.server.files.put(storageKey, Readable.from([bytes]), { contentType: mime });
  if (thumbnailKey) await t.server.files.put(thumbnailKey, Readable.from([bytes]), { contentType: "image/webp" });
  const row: Insertable<UploadsTable> = {
    id,
    owner_id: owner.user.id,
    state: "pending",
    room_id: null,
    message_id: null,
    kind,
    mime,
    name: upload.name ?? (kind === "image" ? "picture.png" : "notes.pdf"),
    size: bytes.length,
    width: kind === "image" ? 640 : null,
    height: kind === "image" ? 480 : null,
    duration_ms: kind === "audio" || kind === "video" ? 1500 : null,
    waveform: null,
    voice: 0,
    storage_key: storageKey,
    thumbnail_key: thumbnailKey,
    thumbnail_width: kind === "image" ? 480 : null,
    thumbnail_height: kind === "image" ? 360 : null,
    created_at: new Date().toISOString(),
    attached_at: null,
    deleted_at: null,
  };
  await t.server.store.db.insertInto("uploads").values(row).execute();
  const [stored] = await t.server.store.db.selectFrom("uploads").selectAll().where("id", "=", id).execute();
  return attachmentOf(stored!);
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
