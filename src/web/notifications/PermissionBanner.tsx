/**
 * "Turn on desktop notifications": shown under the conversation list (beside Settings)
 * after sign-in while the browser's permission is "default" (never asked
 * yet). Permission is asked only when the person presses the button, never
 * on load (browsers penalise sites that ask unprompted, and people refuse).
 * *Not now* hides it for this browser (localStorage); the settings screen
 * still offers it. If the permission turns "denied" while it is shown (the
 * person pressed Block in the browser's prompt, or in the site settings),
 * the banner says why notifications will not come and how to allow them,
 * until dismissed.
 */
import { useRef, useState } from "react";
import { useDesktopPermission } from "./hooks";
import { PermissionText } from "./SettingsDialog";

const DISMISSED_KEY = "parley.notifications.bannerDismissed";

function wasDismissed(): boolean {
  try {
    return localStorage.getItem(DISMISSED_KEY) === "1";
  } catch {
    return false; // storage refused (private mode): show it, a click hides it for this page
  }
}

export function PermissionBanner() {
  const [permission, ask] = useDesktopPermission();
  const [dismissed, setDismissed] = useState(wasDismissed);
  // Set once the banner was offered: a refusal after that is explained here (until dismissed), not just hidden.
  // (A ref, set while rendering: remembering it needs no render of its own.)
  const offered = useRef(false);
  if (permission === "default") offered.current = true;

  const dismiss = () => {
    setDismissed(true);
    try {
      localStorage.setItem(DISMISSED_KEY, "1");
    } catch {
      // not remembered across reloads; nothing else to do
    }
  };

  if (dismissed || !(permission === "default" || (offered.current && permission === "denied"))) return null;
  return (
    <section className="notify-banner" aria-label="Desktop notifications" data-testid="notify-banner">
      {permission === "denied" ? (
        <PermissionText permission="denied" />
      ) : (
        <>
          <p className="notify-banner__text">Get notified of direct messages and mentions while Parley is in the background.</p>
          <button type="button" className="button button--primary notify-banner__enable" data-testid="notify-banner-enable"
            onClick={() => void ask()}>
            Turn on desktop notifications
          </button>
        </>
      )}
      <button type="button" className="link-button notify-banner__dismiss" data-testid="notify-banner-dismiss" onClick={dismiss}>
        {permission === "denied" ? "Dismiss" : "Not now"}
      </button>
    </section>
  );
}
