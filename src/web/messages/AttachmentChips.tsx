/**
 * The files chosen in the composer (issue 17): `useUploadQueue` uploads
 * them (uploadQueue.ts holds the rules, api/uploads.ts the requests) and
 * `AttachmentChips` shows one chip per file above the input: its name, its
 * size, a progress bar while it uploads, why it failed and Retry, and a
 * button that cancels the upload ("Cancel upload of <name>") or takes the
 * file back ("Remove <name>"; a finished one is deleted on the server, as
 * it would otherwise wait there, pending, until it is swept).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { Attachment } from "@shared/protocol/index.js";
import { formatSize } from "@shared/protocol/attachments.js";
import { ApiError, ClientErrorCode, type HttpTransport } from "@web/api/http";
import { UPLOAD_ABORTED, UploadError, deleteUpload, uploadFile, type UploadRequest } from "@web/api/uploads";
import { CloseIcon, FileIcon } from "@web/ui/icons";
import * as rules from "./uploadQueue";
import type { UploadEntry, UploadQueue } from "./uploadQueue";

/** The composer's files and what can be done with them. */
export interface UploadQueueControls {
  /** Every entry, cancelled ones included (`rules.shown` for the chips). */
  readonly queue: UploadQueue;
  /** Queues and starts uploading files; answers how many were left out (over MAX_ATTACHMENTS). */
  add(files: readonly File[]): number;
  /** Cancels a queued or uploading file, or takes back a done or failed one. */
  remove(key: string): void;
  retry(key: string): void;
  /** The message went with these files: forget them (they are no longer pending; nothing to delete). */
  clearSent(): void;
}

let nextKey = 1;

/**
 * Uploads the composer's files. On unmount (the room changes, the person
 * signs out) requests on their way are aborted and finished uploads not
 * sent are deleted.
 */
export function useUploadQueue(transport: HttpTransport): UploadQueueControls {
  const [queue, setQueue] = useState<UploadQueue>(rules.EMPTY_QUEUE);
  // The list as of now, for callbacks that must act on it at once (the state lags by a render).
  const current = useRef<UploadQueue>(rules.EMPTY_QUEUE);
  const files = useRef(new Map<string, File>());
  const requests = useRef(new Map<string, UploadRequest>());

  const apply = useCallback((change: (q: UploadQueue) => UploadQueue) => {
    const next = change(current.current);
    if (next === current.current) return;
    current.current = next;
    setQueue(next);
  }, []);

  const forget = useCallback(
    (key: string) => {
      files.current.delete(key);
      requests.current.delete(key);
      apply((q) => rules.forgotten(q, key));
    },
    [apply],
  );

  const start = useCallback(
    (key: string) => {
      const file = files.current.get(key);
      const entry = current.current.find((e) => e.key === key);
      // Only a queued entry starts (an effect that runs twice must not send a file twice).
      if (!file || entry?.status !== "queued") return;
      apply((q) => rules.started(q, key));
      const request = uploadFile(transport, file, entry.name, (sent) => apply((q) => rules.progressed(q, key, sent)));
      requests.current.set(key, request);
      request.done.then(
        (upload: Attachment) => {
          requests.current.delete(key);
          if (current.current.find((e) => e.key === key)?.status !== "uploading") {
            // Cancelled as the server finished it: take it back rather than leave it pending.
            void deleteUpload(transport, upload.id).catch(() => undefined);
            forget(key);
            return;
          }
          apply((q) => rules.finished(q, key, upload));
        },
        (error: unknown) => {
          requests.current.delete(key);
          const aborted = error instanceof ApiError && error.code === UPLOAD_ABORTED;
          if (aborted || current.current.find((e) => e.key === key)?.status !== "uploading") {
            forget(key);
            return;
          }
          const failure = error instanceof ApiError
            ? rules.uploadFailure(error.status, error.code, error.message, error instanceof UploadError ? error.retryAfterSeconds : undefined)
            : rules.uploadFailure(0, ClientErrorCode.Network, "");
          apply((q) => rules.failed(q, key, failure));
        },
      );
    },
    [apply, forget, transport],
  );

  // Whenever the list changes, start what may start.
  useEffect(() => {
    for (const entry of rules.startable(current.current)) start(entry.key);
  }, [queue, start]);

  useEffect(
    () => () => {
      for (const request of requests.current.values()) request.abort();
      for (const entry of current.current) {
        if (entry.status === "done" && entry.upload) void deleteUpload(transport, entry.upload.id).catch(() => undefined);
      }
    },
    [transport],
  );

  const add = useCallback(
    (chosen: readonly File[]): number => {
      const withKeys = chosen.map((file) => ({ file, key: `f${nextKey++}` }));
      const result = rules.added(
        current.current,
        withKeys.map(({ file, key }) => ({ key, name: file.name || "file", size: file.size, mime: file.type })),
      );
      for (const { file, key } of withKeys) if (result.queue.some((e) => e.key === key)) files.current.set(key, file);
      apply(() => result.queue);
      return result.leftOut;
    },
    [apply],
  );

  const remove = useCallback(
    (key: string) => {
      const entry = current.current.find((e) => e.key === key);
      if (!entry) return;
      if (entry.status === "queued" || entry.status === "uploading") {
        apply((q) => rules.cancelled(q, key));
        const request = requests.current.get(key);
        if (request) request.abort(); // its rejection forgets the entry
        else forget(key);
        return;
      }
      // A failure of this DELETE leaves the upload pending on the server, which sweeps it.
      if (entry.status === "done" && entry.upload) void deleteUpload(transport, entry.upload.id).catch(() => undefined);
      forget(key);
    },
    [apply, forget, transport],
  );

  const retry = useCallback((key: string) => apply((q) => rules.retried(q, key)), [apply]);

  const clearSent = useCallback(() => {
    files.current.clear();
    requests.current.clear();
    apply(() => rules.EMPTY_QUEUE);
  }, [apply]);

  return { queue, add, remove, retry, clearSent };
}

/** One chip per file, above the composer's input; nothing when there are none. */
export function AttachmentChips({ uploads, notice }: { uploads: UploadQueueControls; notice: string | null }) {
  const entries = rules.shown(uploads.queue);
  if (entries.length === 0 && !notice) return null;
  return (
    <div className="attachment-chips" data-testid="attachment-chips">
      {entries.length ? (
        <ul className="attachment-chips__list" aria-label="Files to send">
          {entries.map((entry) => (
            <AttachmentChip key={entry.key} entry={entry} onRemove={() => uploads.remove(entry.key)} onRetry={() => uploads.retry(entry.key)} />
          ))}
        </ul>
      ) : null}
      {notice ? (
        <p className="attachment-chips__notice" role="status" data-testid="attachment-notice">
          {notice}
        </p>
      ) : null}
    </div>
  );
}

function AttachmentChip({ entry, onRemove, onRetry }: { entry: UploadEntry; onRemove: () => void; onRetry: () => void }) {
  const busy = entry.status === "queued" || entry.status === "uploading";
  const percent = rules.percentSent(entry);
  const thumbnail = entry.status === "done" ? entry.upload?.thumbnailUrl : undefined;
  const name = entry.upload?.name ?? entry.name;
  return (
    <li
      className={`attachment-chip attachment-chip--${entry.status}`}
      data-testid="attachment-chip"
      data-status={entry.status}
      data-name={entry.name}
      data-upload-id={entry.upload?.id}
    >
      <span className="attachment-chip__icon" aria-hidden="true">
        {thumbnail ? <img src={thumbnail} alt="" width={32} height={32} /> : <FileIcon width={18} height={18} />}
      </span>
      <span className="attachment-chip__text">
        <bdi className="attachment-chip__name" title={name}>{name}</bdi>
        <span className="attachment-chip__detail" data-testid="attachment-chip-detail">
          {entry.status === "failed" && entry.failure ? (
            <span className="attachment-chip__error" role="alert" data-testid="attachment-chip-error">{entry.failure.text}</span>
          ) : (
            <>
              {formatSize(entry.size)}
              {entry.status === "uploading" ? ` · ${percent}%` : entry.status === "queued" ? " · waiting" : ""}
            </>
          )}
        </span>
        {busy ? (
          <progress className="attachment-chip__progress" max={100} value={entry.status === "uploading" ? percent : undefined}
            aria-label={`Uploading ${name}`} data-testid="attachment-chip-progress" />
        ) : null}
      </span>
      {entry.status === "failed" ? (
        <button type="button" className="link-button attachment-chip__retry" aria-label={`Retry upload of ${name}`}
          onClick={onRetry} data-testid="attachment-chip-retry">
          Retry
        </button>
      ) : null}
      <button
        type="button"
        className="icon-button attachment-chip__button"
        aria-label={busy ? `Cancel upload of ${name}` : `Remove ${name}`}
        title={busy ? "Cancel upload" : "Remove"}
        onClick={onRemove}
        data-testid="attachment-chip-remove"
      >
        <CloseIcon aria-hidden="true" />
      </button>
    </li>
  );
}
