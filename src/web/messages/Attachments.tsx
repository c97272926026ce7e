/**
 * The files of a message in the timeline (issue 17), inside its bubble above
 * its text:
 *
 * - images: the thumbnail (`thumbnailUrl`, a WebP of at most 480 px a side;
 *   animated GIFs stay animated), in a box sized from the attachment's
 *   width and height before anything loads (CSS aspect-ratio), so the list
 *   does not jump when it arrives; several images make a grid of square
 *   tiles. A click or Enter opens the Lightbox with the full image.
 * - audio and video: the browser's own players (`preload="metadata"`: the
 *   duration without the whole file; the server answers Range requests, so
 *   seeking works), a video sized like an image;
 * - a voice note (`voice: true`): VoiceNotePlayer, with its waveform and duration;
 * - anything else: a card with a file-type icon, the name, the size and a
 *   download button ("Download <name>").
 *
 * Every file URL is the server's, read with the session cookie; the server
 * sends only images, audio and video inline, and never HTML or SVG.
 */
import { useState, type CSSProperties } from "react";
import { createPortal } from "react-dom";
import type { Attachment } from "@shared/protocol/index.js";
import { downloadUrl } from "@web/api/uploads";
import { DownloadIcon, FileIcon } from "@web/ui/icons";
import { Lightbox } from "./Lightbox";
import { VoiceNotePlayer } from "./VoiceNotePlayer";
import { formatSize } from "@shared/protocol/attachments.js";

/** The largest box one image or video takes in the timeline, CSS px (the column may be narrower: then its width). */
const MEDIA_MAX_PX = 320;
/** The smallest side of that box: a 10 × 2000 px strip still gets a tile one can tap (cropped to fit). */
const MEDIA_MIN_PX = 64;

export function MessageAttachments({ attachments }: { attachments: readonly Attachment[] }) {
  const [open, setOpen] = useState<Attachment | null>(null);
  const images = attachments.filter((a) => a.kind === "image" && !a.voice);
  const others = attachments.filter((a) => !(a.kind === "image" && !a.voice));
  return (
    <div className="attachments" data-testid="message-attachments">
      {images.length > 0 ? (
        <div className={images.length === 1 ? "attachment-images attachment-images--single" : "attachment-images"}>
          {images.map((a) => (
            <ImageTile key={a.id} attachment={a} single={images.length === 1} onOpen={() => setOpen(a)} />
          ))}
        </div>
      ) : null}
      {others.map((a) =>
        a.voice ? (
          <VoiceNotePlayer key={a.id} attachment={a} />
        ) : a.kind === "audio" ? (
          <AudioAttachment key={a.id} attachment={a} />
        ) : a.kind === "video" ? (
          <VideoAttachment key={a.id} attachment={a} />
        ) : (
          <FileCard key={a.id} attachment={a} />
        ),
      )}
      {/* Into <body>: the open viewer is not part of the message (nor of its focus and touch handling). */}
      {open ? createPortal(<Lightbox attachment={open} onClose={() => setOpen(null)} />, document.body) : null}
    </div>
  );
}

/**
 * The box an image or video is shown in: its own proportions, scaled down
 * to fit MEDIA_MAX_PX (never up), each side at least MEDIA_MIN_PX. Unknown
 * dimensions: a square.
 */
export function mediaBox(width: number | undefined, height: number | undefined, max = MEDIA_MAX_PX): { width: number; height: number } {
  if (!width || !height) return { width: max * 0.75, height: max * 0.75 };
  const scale = Math.min(1, max / width, max / height);
  return { width: Math.max(MEDIA_MIN_PX, Math.round(width * scale)), height: Math.max(MEDIA_MIN_PX, Math.round(height * scale)) };
}

function boxStyle(box: { width: number; height: number }): CSSProperties {
  // The width as an upper bound (max-width: 100% in CSS takes over in a narrow column) and the proportions:
  // the height follows before the image has loaded.
  return { width: `${box.width}px`, aspectRatio: `${box.width} / ${box.height}` };
}

function ImageTile({ attachment, single, onOpen }: { attachment: Attachment; single: boolean; onOpen: () => void }) {
  const box = mediaBox(attachment.width, attachment.height);
  const src = attachment.thumbnailUrl ?? attachment.url;
  return (
    <button
      type="button"
      className="attachment-image"
      style={single ? boxStyle(box) : undefined}
      aria-label={`Open image ${attachment.name}`}
      aria-haspopup="dialog"
      onClick={onOpen}
      data-testid="attachment-image"
      data-attachment-id={attachment.id}
    >
      <img
        src={src}
        alt=""
        width={attachment.thumbnailWidth ?? attachment.width}
        height={attachment.thumbnailHeight ?? attachment.height}
        decoding="async"
        draggable={false}
      />
    </button>
  );
}

function VideoAttachment({ attachment }: { attachment: Attachment }) {
  const box = mediaBox(attachment.width, attachment.height);
  return (
    <video
      className="attachment-video"
      style={boxStyle(box)}
      src={attachment.url}
      controls
      preload="metadata"
      aria-label={attachment.name}
      data-testid="attachment-video"
      data-attachment-id={attachment.id}
    />
  );
}

function AudioAttachment({ attachment }: { attachment: Attachment }) {
  return (
    <div className="attachment-audio" data-testid="attachment-audio" data-attachment-id={attachment.id}>
      <span className="attachment-audio__name">
        <bdi>{attachment.name}</bdi> · {formatSize(attachment.size)}
      </span>
      <audio src={attachment.url} controls preload="metadata" aria-label={attachment.name} />
    </div>
  );
}

function FileCard({ attachment }: { attachment: Attachment }) {
  const kind = fileKind(attachment);
  return (
    <div className="file-card" data-testid="attachment-file" data-attachment-id={attachment.id}>
      <span className="file-card__icon" aria-hidden="true">
        <FileIcon width={32} height={32} strokeWidth={1.5} />
        {kind.short ? <span className="file-card__ext">{kind.short}</span> : null}
      </span>
      <span className="file-card__text">
        <bdi className="file-card__name" title={attachment.name} data-testid="attachment-file-name">{attachment.name}</bdi>
        <span className="file-card__detail" data-testid="attachment-file-detail">
          {formatSize(attachment.size)} · {kind.label}
        </span>
      </span>
      <a
        className="icon-button file-card__download"
        href={downloadUrl(attachment)}
        download={attachment.name}
        aria-label={`Download ${attachment.name}`}
        title="Download"
        data-testid="attachment-download"
      >
        <DownloadIcon aria-hidden="true" width={18} height={18} />
      </a>
    </div>
  );
}

/** Names of common document types, by the type the server sniffed. */
const KNOWN_TYPES: Record<string, { short: string; label: string }> = {
  "application/pdf": { short: "PDF", label: "PDF document" },
  "application/zip": { short: "ZIP", label: "ZIP archive" },
  "application/gzip": { short: "GZ", label: "gzip archive" },
  "application/x-7z-compressed": { short: "7Z", label: "7-Zip archive" },
  "application/x-tar": { short: "TAR", label: "TAR archive" },
  "application/msword": { short: "DOC", label: "Word document" },
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": { short: "DOCX", label: "Word document" },
  "application/vnd.ms-excel": { short: "XLS", label: "Excel spreadsheet" },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { short: "XLSX", label: "Excel spreadsheet" },
  "application/vnd.ms-powerpoint": { short: "PPT", label: "PowerPoint presentation" },
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": { short: "PPTX", label: "PowerPoint presentation" },
  "application/vnd.oasis.opendocument.text": { short: "ODT", label: "OpenDocument text" },
  "application/vnd.oasis.opendocument.spreadsheet": { short: "ODS", label: "OpenDocument spreadsheet" },
  "text/plain": { short: "TXT", label: "Text" },
  "text/csv": { short: "CSV", label: "CSV table" },
};

/**
 * What to call a file on its card: a known type by its sniffed MIME type,
 * else the extension of its name ("… file"), else "File". The name's
 * extension only labels: the server decided the type from the content.
 */
export function fileKind(attachment: Pick<Attachment, "mime" | "name">): { short: string; label: string } {
  const known = KNOWN_TYPES[attachment.mime];
  if (known) return known;
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(attachment.name)?.[1]?.toUpperCase();
  return ext ? { short: ext, label: `${ext} file` } : { short: "", label: "File" };
}
