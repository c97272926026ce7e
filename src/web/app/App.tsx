/**
 * The root: restores the session (GET /session, which answers 200 without
 * one, so a signed-out load logs no 401) on load, shows the sign-in
 * screen or the chat, and goes back to sign-in when the session ends.
 */
import { useEffect, useState, useSyncExternalStore } from "react";
import type { Self } from "@shared/protocol/index.js";
import { ApiError } from "@web/api/http";
import { AuthScreen } from "@web/auth/AuthScreen";
import { ChatContext } from "@web/state/useChat";
import type { ChatClient } from "./chatClient";
import { ChatShell } from "./ChatShell";
import { showUnreadOnAppIcon } from "@web/notifications/badge";

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
        setView({
          status: "signedOut",
          notice: reason === "expired" ? "Your session has ended. Please sign in again." : null,
        });
      }),
    [chat],
  );

  switch (view.status) {
    case "restoring":
      return (
        <div className="splash" data-testid="splash">
          <span className="logo" aria-hidden="true">P</span>
        </div>
      );
    case "unreachable":
      return <Unreachable onRetry={() => { setView({ status: "restoring" }); setAttempt((n) => n + 1); }} />;
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
 * The session could not be checked. Without a network (the service
 * worker started the app from its cache, sw.ts) it says so and tries again
 * by itself when the network comes back; with a network, the server is
 * down or unreachable. "Try again" either way.
 */
function Unreachable({ onRetry }: { onRetry: () => void }) {
  const online = useSyncExternalStore(subscribeOnline, () => navigator.onLine);
  useEffect(() => {
    window.addEventListener("online", onRetry);
    return () => window.removeEventListener("online", onRetry);
  }, [onRetry]);
  return (
    <div className="splash" data-testid="unreachable" data-offline={online ? undefined : "true"} role="status">
      <span className="logo" aria-hidden="true">P</span>
      {online ? (
        <p>Cannot reach the Parley server.</p>
      ) : (
        <>
          <h1 className="splash__title">You’re offline</h1>
          <p>Parley opens your conversations when the network is back.</p>
        </>
      )}
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
