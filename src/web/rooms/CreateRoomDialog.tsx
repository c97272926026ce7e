/** Create a room: name, public or private, optional topic. The creator becomes its owner. */
import { useState, type FormEvent } from "react";
import { CreateRoomRequestSchema, MAX_ROOM_NAME_CHARS, MAX_TOPIC_CHARS, type Room } from "@shared/protocol/index.js";
import { Field, FormError } from "@web/auth/AuthScreen";
import { detailsFromIssues, fieldErrorsFrom, formErrorsFrom, type FieldErrors } from "@web/auth/fieldErrors";
import { useChatClient } from "@web/state/useChat";
import { Dialog } from "@web/ui/Dialog";

export function CreateRoomDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (room: Room) => void }) {
  const chat = useChatClient();
  const [name, setName] = useState("");
  const [topic, setTopic] = useState("");
  const [kind, setKind] = useState<"public" | "private">("public");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = CreateRoomRequestSchema.safeParse({ name, kind, topic: topic.trim() ? topic : undefined });
    if (!parsed.success) {
      setErrors(fieldErrorsFrom(detailsFromIssues(parsed.error.issues)));
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      onCreated(await chat.createRoom(parsed.data));
    } catch (error) {
      setErrors(formErrorsFrom(error));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Create a room" onClose={onClose} testId="create-room-dialog">
      <form className="form" onSubmit={submit} noValidate>
        <Field label="Name" name="name" error={errors.name}>
          <input id="name" autoFocus maxLength={MAX_ROOM_NAME_CHARS} value={name} placeholder="e.g. design-review"
            onChange={(e) => setName(e.target.value)} data-testid="room-name-input" />
        </Field>
        <Field label="Topic (optional)" name="topic" error={errors.topic}>
          <input id="topic" maxLength={MAX_TOPIC_CHARS} value={topic} placeholder="What is this room about?"
            onChange={(e) => setTopic(e.target.value)} data-testid="room-topic-input" />
        </Field>
        <fieldset className="choice">
          <legend>Who can join</legend>
          <label className={kind === "public" ? "choice__option choice__option--on" : "choice__option"}>
            <input type="radio" name="kind" value="public" checked={kind === "public"}
              onChange={() => setKind("public")} data-testid="room-kind-public" />
            <span><strong>Public</strong><small>Anyone can find and join it.</small></span>
          </label>
          <label className={kind === "private" ? "choice__option choice__option--on" : "choice__option"}>
            <input type="radio" name="kind" value="private" checked={kind === "private"}
              onChange={() => setKind("private")} data-testid="room-kind-private" />
            <span><strong>Private</strong><small>Only people you add.</small></span>
          </label>
        </fieldset>
        <FormError message={errors.form ?? errors.kind} />
        <div className="form__actions">
          <button type="button" className="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="button button--primary" disabled={busy} data-testid="create-room-submit">
            {busy ? "Creating…" : "Create room"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
