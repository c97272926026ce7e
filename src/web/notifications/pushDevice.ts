/**
 * The browser half of Web Push, as the settings screen uses it: helper E's
 * `src/web/notifications/push.ts` (`pushSupport`, `subscribePush`,
 * `unsubscribePush`, `currentPushEndpoint`) behind an interface, given to the
 * app through `PushDeviceContext`. The default says "unsupported", so the
 * screen works (and says so) until the real one is provided: main.tsx wraps
 * the app in `<PushDeviceContext.Provider value={browserPushDevice}>` built
 * from push.ts.
 */
import { createContext, useContext } from "react";
import type { DesktopPermission } from "./model";

export interface PushDevice {
  /** "unsupported" without service worker + PushManager, else the notification permission. */
  support(): DesktopPermission;
  /** Subscribes this browser with the server's VAPID key and registers it with the server. @throws on refusal */
  subscribe(publicKey: string): Promise<unknown>;
  /** Unsubscribes this browser and removes it on the server. */
  unsubscribe(): Promise<void>;
  /** This browser's push endpoint, or null when not subscribed. */
  currentEndpoint(): Promise<string | null>;
}

/** No Web Push: what the screen uses until push.ts is provided. */
export const NO_PUSH: PushDevice = {
  support: () => "unsupported",
  subscribe: () => Promise.reject(new Error("Push is not available in this build.")),
  unsubscribe: () => Promise.resolve(),
  currentEndpoint: () => Promise.resolve(null),
};

export const PushDeviceContext = createContext<PushDevice>(NO_PUSH);

export function usePushDevice(): PushDevice {
  return useContext(PushDeviceContext);
}
