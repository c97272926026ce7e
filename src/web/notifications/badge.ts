/**
 * The unread total on the installed app's icon (Badging API), beside the
 * title's "(3) Parley", which stays. Chromium has it on desktop (an
 * installed app's dock or taskbar icon) and Safari for web apps added to
 * the Home Screen; elsewhere `navigator.setAppBadge` is missing and this
 * does nothing. Only the page sets it: the service worker does not know
 * the total, so the icon shows the count as of the last open tab.
 */

interface BadgingNavigator {
  setAppBadge?: (count?: number) => Promise<void>;
  clearAppBadge?: () => Promise<void>;
}

/**
 * Shows `total` unread on the app icon, or clears it at 0.
 * @param total unread messages (the title's count, before its "999+" cap: the icon draws its own)
 */
export function showUnreadOnAppIcon(total: number, nav: BadgingNavigator = navigator as BadgingNavigator): void {
  // Refused when the app is not installed (some browsers) or the document is not active: nothing to tell the person.
  const ignore = () => undefined;
  if (total > 0) nav.setAppBadge?.(total).catch(ignore);
  else nav.clearAppBadge?.().catch(ignore);
}
