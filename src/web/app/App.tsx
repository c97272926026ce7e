/**
 * The root: restores the session (GET /session, which answers 200 without
 * one, so a signed-out load logs no 401) on load, shows the sign-in
 * screen or the chat, and goes back to sign-in when the session ends.
 */
import { useEffect, useState } from "react";
import type { Self } from "@shared/protocol/index.js";
import { ApiError } from "@web/api/http";
import { AuthScreen } from "@web/auth/AuthScreen";
import { ChatContext } from "@web/state/useChat";
import type { ChatClient } from "./chatClient";
import { ChatShell } from "./ChatShell";

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
      return (
        <div className="splash" data-testid="unreachable">
          <p>Cannot reach the Parley server.</p>
          <button type="button" className="button" onClick={() => { setView({ status: "restoring" }); setAttempt((n) => n + 1); }}>
            Try again
          </button>
        </div>
      );
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
