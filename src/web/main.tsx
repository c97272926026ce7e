/**
 * Entry point: builds the ChatClient for this page (HTTP API on the same
 * origin, WebSocket at /ws) and renders the app.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { HttpTransport, ParleyApi } from "@web/api/http";
import { App } from "@web/app/App";
import { ErrorBoundary } from "@web/app/ErrorBoundary";
import { ChatClient } from "@web/app/chatClient";
import { sameOriginSocketUrl } from "@web/realtime/socket";
import { registerServiceWorker } from "@web/app/serviceWorker";
import { PushDeviceContext, type PushDevice } from "@web/notifications/pushDevice";
import { currentPushEndpoint, pushSupport, subscribePush, unsubscribePush } from "@web/notifications/push";
import "./styles.css";

// The transport needs to reach the client on a 401 and the client needs the
// transport; the late binding breaks the cycle.
let chat: ChatClient | null = null;
const transport = new HttpTransport("/api/v1", () => chat?.sessionExpired());
chat = new ChatClient({
  api: new ParleyApi(transport),
  socketUrl: sameOriginSocketUrl(window.location),
  isOnline: () => navigator.onLine,
});

/**
 * End-to-end tests set `window.__PARLEY_TEST_HOOKS__ = true` before the page
 * loads to reach a few internals (cut the socket as a network failure would,
 * read the state). Nothing is exposed otherwise.
 */
interface TestHooksWindow {
  __PARLEY_TEST_HOOKS__?: boolean;
  __parley?: { dropSocket(): void; state(): unknown };
}
const hooksWindow = window as unknown as TestHooksWindow;
if (hooksWindow.__PARLEY_TEST_HOOKS__ === true) {
  const client = chat;
  hooksWindow.__parley = { dropSocket: () => client.simulateDrop(), state: () => client.store.getState() };
}

// The offline shell and push (sw.ts); production builds only.
registerServiceWorker();

/** Web Push in this browser (notifications/push.ts), for the settings screen's "This device" toggle. */
const browserPushDevice: PushDevice = {
  support: pushSupport,
  subscribe: subscribePush,
  unsubscribe: unsubscribePush,
  currentEndpoint: currentPushEndpoint,
};

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    {/* The last line of defence: whatever throws while rendering, the page says so and offers a way back. */}
    <ErrorBoundary scope="app">
      <PushDeviceContext.Provider value={browserPushDevice}>
        <App chat={chat} />
      </PushDeviceContext.Provider>
    </ErrorBoundary>
  </StrictMode>,
);
