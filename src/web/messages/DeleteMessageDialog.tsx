/**
 * Asks before deleting a message for everyone: deleting cannot be undone,
 * and the text is gone from the server too.
 */
import { useState } from "react";
import { Dialog } from "@web/ui/Dialog";
import { messageOf } from "@web/app/chatClient";
import type { DisplayMessage } from "./rows";

export interface DeleteMessageDialogProps {
  message: DisplayMessage;
  onConfirm: (message: DisplayMessage) => Promise<void>;
  onClose: () => void;
}

export function DeleteMessageDialog({ message, onConfirm, onClose }: DeleteMessageDialogProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await onConfirm(message);
      onClose();
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Delete message?" onClose={onClose} testId="delete-message-dialog">
      <p>
        {message.mine ? "Delete this message" : `Delete this message by ${message.authorName} (@${message.authorUsername})`} for
        everyone? This cannot be undone.
      </p>
      <blockquote className="delete-message__quote">{message.body}</blockquote>
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      <div className="form__actions">
        <button type="button" className="button" onClick={onClose} data-testid="delete-message-cancel">Cancel</button>
        <button type="button" className="button button--danger" disabled={busy} onClick={() => void confirm()}
          data-testid="delete-message-confirm">
          {busy ? "Deleting…" : "Delete"}
        </button>
      </div>
    </Dialog>
  );
}
