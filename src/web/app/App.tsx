/**
 * The root: restores the session (GET /session, which answers 200 without
 * one, so a signed-out load logs no 401) on load, shows the sign-in
 * screen or the chat, and goes back to sign-in when the session ends.
 */
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import type { Self } from "@shared/protocol/index.js";
import { ApiError } from "@web/api/http";
import { AuthScreen } from "@web/auth/AuthScreen";
import { ChatContext } from "@web/state/useChat";
import type { ChatClient } from "./chatClient";
import { ChatShell } from "./ChatShell";
import { showUnreadOnAppIcon } from "@web/notifications/badge";
import { forgetPushOnThisBrowser } from "@web/notifications/push";
import { reconnectDelay } from "@web/realtime/backoff";

type SessionView =
  | { status: "restoring" }
  | { status: "unreachable" }
  | { status: "signedOut"; notice: string | null }
  | { status: "signedIn"; user: Self };

export function App({ chat }: { chat: ChatClient }) {
  const [view, setView] = useState<SessionView>({ status: "restoring" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let current = true;
    chat.api.session().then(
      (session) => {
        if (!current) return;
        if (!session) {
          setView({ status: "signedOut", notice: null });
          return;
        }
        setView({ status: "signedIn", user: session.user });
        void chat.begin(session.user);
      },
      (error: unknown) => {
        if (!current) return;
        const signedOut = error instanceof ApiError && error.status === 401;
        setView(signedOut ? { status: "signedOut", notice: null } : { status: "unreachable" });
      },
    );
    return () => {
      current = false;
    };
  }, [chat, attempt]);

  // Signed out: the app icon's unread count was the last person's (notifications/badge.ts).
  useEffect(() => {
    if (view.status === "signedOut") showUnreadOnAppIcon(0);
  }, [view.status]);

  useEffect(
    () =>
      chat.onSessionEnded((reason) => {
        // Signed out on purpose: this browser stops receiving the account's pushes (it may be someone else's next).
        if (reason === "logout") void forgetPushOnThisBrowser();
        setView({
          status: "signedOut",
          notice: reason === "expired" ? "Your session has ended. Please sign in again." : null,
        });
      }),
    [chat],
  );

  // By itself (Unreachable's timer, the network back): quietly, the screen stays until the answer. By the button: the splash shows it is trying.
  const retryQuietly = useCallback(() => setAttempt((n) => n + 1), []);
  const retry = useCallback(() => {
    setView({ status: "restoring" });
    setAttempt((n) => n + 1);
  }, []);

  switch (view.status) {
    case "restoring":
      return (
        <div className="splash" data-testid="splash">
          <span className="logo" aria-hidden="true">P</span>
        </div>
      );
    case "unreachable":
      return <Unreachable attempt={attempt} onRetry={retry} onRetryQuietly={retryQuietly} />;
    case "signedOut":
      return (
        <AuthScreen
          api={chat.api}
          notice={view.notice}
          onSignedIn={(user) => {
            setView({ status: "signedIn", user });
            void chat.begin(user);
          }}
        />
      );
    case "signedIn":
      return (
        <ChatContext.Provider value={chat}>
          <ChatShell />
        </ChatContext.Provider>
      );
  }
}

/**
 * The session could not be checked: no network, or the server does not
 * answer (a start from the service worker's cache, sw.ts, lands here
 * without a network). The app is offline either way, and says so; the
 * sentence says which when the browser knows (`navigator.onLine`). It tries
 * again by itself: when the network comes back, and after a backoff delay
 * (realtime/backoff.ts, as the socket's reconnects) for a server that is
 * down; "Try again" does it at once.
 * @param attempt the session checks made so far, for the delay
 */
function Unreachable({ attempt, onRetry, onRetryQuietly }: { attempt: number; onRetry: () => void; onRetryQuietly: () => void }) {
  const online = useSyncExternalStore(subscribeOnline, () => navigator.onLine);
  useEffect(() => {
    const timer = setTimeout(onRetryQuietly, reconnectDelay(attempt));
    window.addEventListener("online", onRetryQuietly);
    return () => {
      clearTimeout(timer);
      window.removeEventListener("online", onRetryQuietly);
    };
  }, [attempt, onRetryQuietly]);
  return (
    <div className="splash" data-testid="unreachable" role="status">
      <span className="logo" aria-hidden="true">P</span>
      <h1 className="splash__title">You’re offline</h1>
      <p data-testid="unreachable-reason">
        {online ? "Parley cannot reach its server. It opens your conversations once it can." : "Parley opens your conversations when the network is back."}
      </p>
      <button type="button" className="button" onClick={onRetry}>
        Try again
      </button>
    </div>
  );
}

function subscribeOnline(onChange: () => void): () => void {
  window.addEventListener("online", onChange);
  window.addEventListener("offline", onChange);
  return () => {
    window.removeEventListener("online", onChange);
    window.removeEventListener("offline", onChange);
  };
}
