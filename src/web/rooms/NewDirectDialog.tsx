/** Start (or reopen) a direct conversation with someone. */
import { useMemo, useState } from "react";
import type { Room, User } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { useChat, useChatClient } from "@web/state/useChat";
import { Dialog } from "@web/ui/Dialog";
import { UserPicker } from "./UserPicker";

export function NewDirectDialog({ onClose, onOpened }: { onClose: () => void; onOpened: (room: Room) => void }) {
  const chat = useChatClient();
  const me = useChat((s) => s.me);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const exclude = useMemo(() => new Set(me ? [me.id] : []), [me]);

  async function pick(user: User) {
    setBusy(user.id);
    setError(null);
    try {
      onOpened(await chat.openDirect(user.id));
    } catch (e) {
      setError(messageOf(e));
      setBusy(null);
    }
  }

  return (
    <Dialog title="New direct message" onClose={onClose} testId="direct-dialog">
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      <UserPicker exclude={exclude} onPick={(u) => void pick(u)} actionLabel="Message" busyUserId={busy} />
    </Dialog>
  );
}
