/**
 * One room's notifications (issue 19): its level (Default, which says what
 * it means here, All, Mentions, Nothing) and its mute (for 1 hour, 8 hours,
 * until tomorrow, until I unmute; Unmute). Opened from the room header's bell
 * and the phone's room menu. Changes go to the server
 * (PUT /rooms/:id/notifications) and show when it answers; my other tabs
 * hear them as `room.notifications.updated`.
 */
import { useId, useState } from "react";
import type { Room, RoomNotifyLevel, UpdateRoomNotificationsRequest } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { roomTitle } from "@web/state/rooms";
import { useChat, useChatClient } from "@web/state/useChat";
import { Dialog } from "@web/ui/Dialog";
import { MUTE_CHOICES, muteLabel, roomLevelChoices, roomNotificationsOf } from "./model";
import { useNotifyClock } from "./hooks";

export function RoomNotificationsDialog({ room, onClose }: { room: Room; onClose: () => void }) {
  const chat = useChatClient();
  const settings = useChat((s) => s.notificationSettings);
  const current = roomNotificationsOf(room);
  const [pendingLevel, setPendingLevel] = useState<RoomNotifyLevel | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nowMs = useNotifyClock([room], null);
  const now = new Date(nowMs);
  const muted = muteLabel(room, now);
  const name = room.kind === "direct" ? roomTitle(room) : `#${roomTitle(room)}`;
  const ids = useId();

  async function change(request: UpdateRoomNotificationsRequest) {
    setBusy(true);
    setError(null);
    try {
      await chat.setRoomNotifications(room.id, request);
    } catch (e) {
      setError(`Could not change this conversation's notifications: ${messageOf(e)}`);
    } finally {
      setBusy(false);
      setPendingLevel(null);
    }
  }

  const shownLevel = pendingLevel ?? current.level;
  return (
    <Dialog title={`Notifications for ${name}`} onClose={onClose} testId="room-notifications-dialog" sheet>
      <fieldset className="notify-field" data-testid="room-level">
        <legend className="notify-field__legend">Notify me about</legend>
        {roomLevelChoices(room, settings).map((choice) => (
          <label key={choice.value} className="notify-choice">
            <input type="radio" name={`${ids}-level`} value={choice.value} checked={shownLevel === choice.value}
              data-testid={`room-level-${choice.value}`}
              onChange={() => {
                setPendingLevel(choice.value);
                void change({ level: choice.value });
              }} />
            <span>{choice.label}</span>
          </label>
        ))}
      </fieldset>

      <section className="notify-field" aria-labelledby={`${ids}-mute`} data-testid="room-mute">
        <h3 className="notify-field__legend" id={`${ids}-mute`}>Mute</h3>
        {muted ? (
          <div className="notify-row">
            <p className="notify-state" data-testid="room-mute-state">{muted}. Its unread count stays; it sends no notifications.</p>
            <button type="button" className="button" disabled={busy} data-testid="room-unmute"
              onClick={() => void change({ muted: false })}>
              Unmute
            </button>
          </div>
        ) : (
          <>
            <p className="notify-hint">A muted conversation sends no notifications and sits at the end of the list.</p>
            <div className="notify-buttons">
              {MUTE_CHOICES.map((choice) => (
                <button key={choice.id} type="button" className="button" disabled={busy} data-testid={`room-mute-${choice.id}`}
                  onClick={() => void change({ muted: true, mutedUntil: choice.until(new Date()) })}>
                  {choice.label}
                </button>
              ))}
              <button type="button" className="button" disabled={busy} data-testid="room-mute-forever"
                onClick={() => void change({ muted: true, mutedUntil: null })}>
                Mute until I unmute
              </button>
            </div>
          </>
        )}
      </section>
      {error ? <p className="form__error" role="alert">{error}</p> : null}
      <div className="form__actions">
        <button type="button" className="button button--primary" onClick={onClose} data-testid="room-notifications-done">Done</button>
      </div>
    </Dialog>
  );
}
