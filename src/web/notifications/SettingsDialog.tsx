/**
 * The settings screen (issue 19, item 6), opened from the sidebar's account
 * footer: its "Notifications" section holds this browser's desktop
 * notifications (the permission: asked only from the button here or the
 * banner; "blocked" explained), the account defaults for rooms and direct
 * messages, do not disturb, email digests (only when the server has SMTP),
 * and Web Push: this device's switch and the list of subscribed devices with
 * *Send test notification* and *Remove*.
 *
 * The settings come from the store (live: another tab's change shows here
 * at once); GET /notifications/settings is asked again on open for what
 * only it says (emailAvailable, the push key).
 */
import { useCallback, useEffect, useId, useState } from "react";
import type { NotificationSettingsResponse, NotifyLevel, PushSubscription, UpdateNotificationSettingsRequest } from "@shared/protocol/index.js";
import { messageOf } from "@web/app/chatClient";
import { useChat, useChatClient } from "@web/state/useChat";
import { Dialog } from "@web/ui/Dialog";
import { DND_CHOICES, LEVEL_LABELS, isDndOn, untilLabel, type DesktopPermission } from "./model";
import { useDesktopPermission, useNotifyClock } from "./hooks";
import { usePushDevice } from "./pushDevice";

export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const chat = useChatClient();
  const held = useChat((s) => s.notificationSettings);
  // A choice shows at once, before the server's answer (which then replaces it, or the error puts the old one back).
  const [pending, setPending] = useState<UpdateNotificationSettingsRequest>({});
  const settings = held === null ? null : { ...held, ...pending };
  const [server, setServer] = useState<NotificationSettingsResponse | null>(null);
  const [loadFailed, setLoadFailed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nowMs = useNotifyClock([], settings);
  const ids = useId();

  useEffect(() => {
    let current = true;
    chat.loadNotificationSettings().then((answer) => {
      if (!current) return;
      setServer(answer);
      setLoadFailed(answer === null);
    });
    return () => {
      current = false;
    };
  }, [chat]);

  async function change(request: UpdateNotificationSettingsRequest) {
    setBusy(true);
    setError(null);
    setPending(request);
    try {
      setServer(await chat.updateNotificationSettings(request));
    } catch (e) {
      setError(`Could not save: ${messageOf(e)}`);
    } finally {
      setBusy(false);
      setPending({});
    }
  }

  const dndOn = isDndOn(settings, nowMs);
  return (
    <Dialog title="Settings" onClose={onClose} testId="settings-dialog" wide>
      <section className="settings" aria-labelledby={`${ids}-notifications`}>
        <h3 className="settings__heading" id={`${ids}-notifications`}>Notifications</h3>
        <DesktopNotifications />

        {settings === null ? (
          <p role={loadFailed ? "alert" : "status"} className={loadFailed ? "form__error" : "notify-hint"}>
            {loadFailed ? "Could not load your notification settings. Close and try again." : "Loading…"}
          </p>
        ) : (
          <>
            <LevelGroup legend="Rooms" name={`${ids}-rooms`} testId="default-room-level" value={settings.roomLevel}
              choices={["all", "mentions", "nothing"]} disabled={busy}
              hint="Mentions include @room and @here. A room's own setting (its bell) overrides this."
              onChange={(roomLevel) => void change({ roomLevel })} />
            <LevelGroup legend="Direct messages" name={`${ids}-directs`} testId="default-direct-level"
              // In a conversation of two, "mentions" is every message: shown as All.
              value={settings.directLevel === "mentions" ? "all" : settings.directLevel}
              choices={["all", "nothing"]} disabled={busy}
              onChange={(directLevel) => void change({ directLevel })} />

            <section className="notify-field" aria-labelledby={`${ids}-dnd`} data-testid="dnd">
              <h4 className="notify-field__legend" id={`${ids}-dnd`}>Do not disturb</h4>
              {dndOn && settings.dndUntil ? (
                <div className="notify-row">
                  <p className="notify-state" data-testid="dnd-state">On {untilLabel(settings.dndUntil, new Date(nowMs))}: no notifications anywhere.</p>
                  <button type="button" className="button" disabled={busy} data-testid="dnd-off"
                    onClick={() => void change({ dndUntil: null })}>
                    Turn off
                  </button>
                </div>
              ) : (
                <>
                  <p className="notify-hint" data-testid="dnd-state">Off. Pause every notification for:</p>
                  <div className="notify-buttons">
                    {DND_CHOICES.map((choice) => (
                      <button key={choice.id} type="button" className="button" disabled={busy} data-testid={`dnd-${choice.id}`}
                        aria-label={`Do not disturb: ${choice.label.toLowerCase()}`}
                        onClick={() => void change({ dndUntil: choice.until(new Date()) })}>
                        {choice.label}
                      </button>
                    ))}
                  </div>
                </>
              )}
            </section>

            {server?.emailAvailable ? (
              <div className="notify-field">
                <label className="notify-choice">
                  <input type="checkbox" checked={settings.email} disabled={busy} data-testid="email-digests"
                    onChange={(e) => void change({ email: e.target.checked })} />
                  <span>Email me direct messages and mentions I have not read after a while</span>
                </label>
              </div>
            ) : null}
          </>
        )}
        {error ? <p className="form__error" role="alert">{error}</p> : null}

        <PushDevices publicKey={server?.push.publicKey ?? ""} />
      </section>
      <div className="form__actions">
        <button type="button" className="button button--primary" onClick={onClose} data-testid="settings-done">Done</button>
      </div>
    </Dialog>
  );
}

function LevelGroup({ legend, name, testId, value, choices, hint, disabled, onChange }: {
  legend: string;
  name: string;
  testId: string;
  value: NotifyLevel;
  choices: readonly NotifyLevel[];
  hint?: string;
  disabled: boolean;
  onChange: (level: NotifyLevel) => void;
}) {
  return (
    <fieldset className="notify-field" data-testid={testId}>
      <legend className="notify-field__legend">{legend}</legend>
      {choices.map((level) => (
        <label key={level} className="notify-choice">
          <input type="radio" name={name} value={level} checked={value === level} disabled={disabled}
            data-testid={`${testId}-${level}`} onChange={() => onChange(level)} />
          <span>{LEVEL_LABELS[level]}</span>
        </label>
      ))}
      {hint ? <p className="notify-hint">{hint}</p> : null}
    </fieldset>
  );
}

/** What the browser allows, and the one place (with the banner) that asks. */
export function DesktopNotifications() {
  const [permission, ask] = useDesktopPermission();
  return (
    <div className="notify-field" data-testid="desktop-notifications" data-permission={permission}>
      <h4 className="notify-field__legend">Desktop notifications</h4>
      <PermissionText permission={permission} />
      {permission === "default" ? (
        <button type="button" className="button button--primary" data-testid="desktop-enable" onClick={() => void ask()}>
          Turn on desktop notifications
        </button>
      ) : null}
    </div>
  );
}

/** The permission in words; "denied" is explained, never hidden. */
export function PermissionText({ permission }: { permission: DesktopPermission }) {
  switch (permission) {
    case "unsupported":
      return <p className="notify-hint">This browser cannot show notifications.</p>;
    case "default":
      return <p className="notify-hint">Get a notification for direct messages and mentions while Parley is in the background.</p>;
    case "granted":
      return <p className="notify-state" data-testid="desktop-on">On in this browser.</p>;
    case "denied":
      return (
        <p className="notify-blocked" data-testid="notifications-blocked">
          Notifications are blocked by your browser: allow them in the site settings (the icon beside the address), then
          reload the page.
        </p>
      );
  }
}

/** Web Push: this device's switch (helper E's push.ts through PushDeviceContext) and the devices subscribed. */
function PushDevices({ publicKey }: { publicKey: string }) {
  const chat = useChatClient();
  const device = usePushDevice();
  const support = device.support();
  const [subscribed, setSubscribed] = useState<boolean | null>(null);
  const [devices, setDevices] = useState<PushSubscription[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = useId();

  const reload = useCallback(async () => {
    try {
      setDevices(await chat.pushSubscriptions());
      setListError(null);
    } catch (e) {
      setListError(`Could not load your devices: ${messageOf(e)}`);
    }
  }, [chat]);

  useEffect(() => {
    void reload();
    device.currentEndpoint().then((endpoint) => setSubscribed(endpoint !== null), () => setSubscribed(false));
  }, [device, reload]);

  async function toggle(on: boolean) {
    setBusy(true);
    setNote(null);
    try {
      if (on) await device.subscribe(publicKey);
      else await device.unsubscribe();
      setSubscribed(on);
      await reload();
    } catch (e) {
      setNote(on ? `Could not turn on push here: ${messageOf(e)}` : `Could not turn off push here: ${messageOf(e)}`);
    } finally {
      setBusy(false);
    }
  }

  async function act(what: "test" | "remove", subscription: PushSubscription) {
    setNote(null);
    try {
      if (what === "test") {
        await chat.testPushSubscription(subscription.id);
        setNote(`A test notification is on its way to ${subscription.label}.`);
      } else {
        await chat.deletePushSubscription(subscription.id);
        await reload();
        setNote(`${subscription.label} removed.`);
      }
    } catch (e) {
      setNote(messageOf(e));
    }
  }

  return (
    <section className="notify-field" aria-labelledby={`${ids}-push`} data-testid="push">
      <h4 className="notify-field__legend" id={`${ids}-push`}>Push notifications</h4>
      <p className="notify-hint">Notifications on a device even when every Parley tab is closed.</p>
      {support === "unsupported" ? (
        <p className="notify-hint" data-testid="push-unsupported">This browser cannot receive push notifications.</p>
      ) : support === "denied" ? (
        <PermissionText permission="denied" />
      ) : (
        <label className="notify-choice">
          <input type="checkbox" role="switch" checked={subscribed === true} disabled={busy || subscribed === null || publicKey === ""}
            data-testid="push-this-device" onChange={(e) => void toggle(e.target.checked)} />
          <span>This device</span>
        </label>
      )}
      <h5 className="notify-subheading">Devices</h5>
      {listError ? <p className="form__error" role="alert">{listError}</p> : null}
      {devices && devices.length === 0 ? <p className="notify-hint" data-testid="push-no-devices">No device gets push notifications.</p> : null}
      {devices && devices.length > 0 ? (
        <ul className="push-devices" data-testid="push-devices">
          {devices.map((d) => (
            <li key={d.id} className="push-device" data-testid="push-device">
              <div className="push-device__text">
                <span className="push-device__label">{d.label}</span>
                <span className="notify-hint">
                  {d.service} · added {new Date(d.createdAt).toLocaleDateString()} ·{" "}
                  {d.lastPushAt ? `last push ${new Date(d.lastPushAt).toLocaleString()}` : "no push yet"}
                </span>
              </div>
              <div className="push-device__actions">
                <button type="button" className="button" aria-label={`Send test notification to ${d.label}`}
                  data-testid="push-test" onClick={() => void act("test", d)}>
                  Send test notification
                </button>
                <button type="button" className="button button--danger" aria-label={`Remove ${d.label}`}
                  data-testid="push-remove" onClick={() => void act("remove", d)}>
                  Remove
                </button>
              </div>
            </li>
          ))}
        </ul>
      ) : null}
      <p className="notify-hint" role="status" data-testid="push-note">{note ?? ""}</p>
    </section>
  );
}
