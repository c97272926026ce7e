/**
 * What one of my stored messages has reached: ✓ sent (the server has it),
 * ✓✓ delivered (on at least one other member's device), and read. In a
 * direct message read shows as colored ✓✓ ("Read"); in a room as "Read by
 * N", a button whose small popover names the readers (on hover, focus or
 * tap; Escape closes it), on my newest read message only (as Messenger
 * does): an earlier read message shows the compact read ticks, so a
 * two-person room is not "Read by 1" under every line. Every mark has a
 * text name for screen readers.
 */
import { useId, useState, useSyncExternalStore, type KeyboardEvent } from "react";
import { lastReadMineSeq, receiptOf } from "@web/state/receipts";
import { useChat, useChatClient } from "@web/state/useChat";

export function ReceiptMark({ seq }: { seq: number }) {
  const chat = useChatClient();
  const roomId = useChat((s) => s.activeRoomId);
  const kind = useChat((s) => (roomId ? s.rooms[roomId]?.room.kind : undefined));
  const meId = useChat((s) => s.me?.id ?? "");
  const all = useSyncExternalStore(chat.receipts.subscribe, chat.receipts.getSnapshot);
  const messages = useChat((s) => (roomId ? s.timelines[roomId]?.messages : undefined));
  const [open, setOpen] = useState(false);
  const popoverId = useId();
  if (!roomId) return null;
  const { delivered, readers } = receiptOf(all[roomId], seq, meId);

  const readByHere = readers.length > 0 && lastReadMineSeq(all[roomId], messages ?? [], meId) === seq;

  if (kind === "direct" || !readByHere) {
    const state = readers.length > 0 ? "read" : delivered ? "delivered" : "sent";
    const label = state === "read" ? "Read" : state === "delivered" ? "Delivered" : "Sent";
    return (
      <span className={`receipt receipt--${state}`} role="img" aria-label={label} title={label} data-testid="receipt" data-state={state}>
        {state === "sent" ? "✓" : "✓✓"}
      </span>
    );
  }

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape") setOpen(false);
  };
  return (
    <span className="receipt-readers" onMouseEnter={() => setOpen(true)} onMouseLeave={() => setOpen(false)} onKeyDown={onKeyDown}>
      <button
        type="button"
        className="link-button receipt receipt--read"
        aria-expanded={open}
        aria-controls={popoverId}
        data-testid="receipt"
        data-state="read"
        onClick={() => setOpen((o) => !o)}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
      >
        Read by {readers.length}
      </button>
      {open ? (
        <span className="receipt-popover" id={popoverId} role="tooltip" data-testid="receipt-readers">
          <span className="receipt-popover__title">Read by</span>
          <span className="receipt-popover__names">
            {readers.map((name, i) => (
              <bdi key={`${name}-${i}`} className="receipt-popover__name">{name}</bdi>
            ))}
          </span>
        </span>
      ) : null}
    </span>
  );
}
