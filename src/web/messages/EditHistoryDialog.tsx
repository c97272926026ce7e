/**
 * "(edited)" opens this: every version of a message, newest first, each
 * with the time it was written. The versions are plain text nodes (never
 * HTML). Loaded when opened; a deleted message has none left.
 */
import { useEffect, useState } from "react";
import type { MessageVersion } from "@shared/protocol/index.js";
import { Dialog } from "@web/ui/Dialog";
import { useChatClient } from "@web/state/useChat";
import { messageOf } from "@web/app/chatClient";
import type { DisplayMessage } from "./rows";
import { fullDateTime } from "./time";

export interface EditHistoryDialogProps {
  roomId: string;
  message: DisplayMessage;
  onClose: () => void;
}

export function EditHistoryDialog({ roomId, message, onClose }: EditHistoryDialogProps) {
  const chat = useChatClient();
  const [versions, setVersions] = useState<MessageVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (message.id === null) return;
    let live = true;
    chat.messageEdits(roomId, message.id).then(
      (edits) => live && setVersions(edits),
      (e: unknown) => live && setError(messageOf(e)),
    );
    return () => {
      live = false;
    };
  }, [chat, roomId, message.id]);

  return (
    <Dialog title="Edit history" onClose={onClose} testId="edit-history-dialog">
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      {versions === null && !error ? <p className="muted">Loading…</p> : null}
      {versions !== null ? (
        <ol className="edit-history" data-testid="edit-history">
          <li className="edit-history__version" data-testid="edit-history-version" data-current="true">
            <div className="edit-history__when">
              Current · edited{" "}
              {message.editedAt ? <time dateTime={message.editedAt}>{fullDateTime(message.editedAt)}</time> : null}
            </div>
            <p className="edit-history__body" data-testid="edit-history-body">{message.body}</p>
          </li>
          {[...versions].reverse().map((v) => (
            <li key={v.seq} className="edit-history__version" data-testid="edit-history-version">
              <div className="edit-history__when">
                Written <time dateTime={v.createdAt}>{fullDateTime(v.createdAt)}</time>
              </div>
              <p className="edit-history__body" data-testid="edit-history-body">{v.body}</p>
            </li>
          ))}
        </ol>
      ) : null}
      <div className="form__actions">
        <button type="button" className="button" onClick={onClose} data-testid="edit-history-close">Close</button>
      </div>
    </Dialog>
  );
}
