/**
 * React error boundaries: a render error in the room view, or anywhere in
 * the app, shows what happened in plain words and a way back instead of a
 * blank page. Around the app (main.tsx) and around the main pane
 * (ChatShell), so a broken room leaves the sidebar usable.
 */
import { Component, type ErrorInfo, type ReactNode } from "react";
import { ProblemView } from "./ProblemView";

export interface ErrorBoundaryProps {
  children: ReactNode;
  /** "room": only the main pane failed; "app": nothing else is left on screen. */
  scope: "app" | "room";
  /** When this changes (another room opened), the boundary tries again. */
  resetKey?: string;
  /** Go back to the room list; defaults to setting the hash to "#/". */
  onBack?: () => void;
}

interface ErrorBoundaryState {
  error: Error | null;
}

/** Catches render and effect errors below it and shows ErrorView. */
export class ErrorBoundary extends Component<ErrorBoundaryProps, ErrorBoundaryState> {
  override state: ErrorBoundaryState = { error: null };

  static getDerivedStateFromError(error: unknown): ErrorBoundaryState {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    // The console is where a bug report starts; nothing is sent anywhere.
    console.error(`Parley: the ${this.props.scope} view failed`, error, info.componentStack);
  }

  override componentDidUpdate(previous: ErrorBoundaryProps): void {
    if (this.state.error !== null && previous.resetKey !== this.props.resetKey) this.setState({ error: null });
  }

  private readonly back = (): void => {
    if (this.props.onBack) this.props.onBack();
    else if (window.location.hash !== "#/") window.location.hash = "#/";
    this.setState({ error: null });
  };

  override render(): ReactNode {
    const { error } = this.state;
    if (error === null) return this.props.children;
    return <ErrorView error={error} scope={this.props.scope} onBack={this.back} />;
  }
}

/** What the user sees after a crash: what happened, that nothing was lost, and two ways out. */
export function ErrorView({ error, scope, onBack }: { error: Error; scope: "app" | "room"; onBack: () => void }) {
  return (
    <div className={scope === "app" ? "problem-page" : "problem-pane"}>
      <ProblemView
        testId="error-view"
        title="Something went wrong"
        actions={
          <>
            <button type="button" className="button button--primary" onClick={onBack} data-testid="error-back">
              Back to your rooms
            </button>
            <button type="button" className="button" onClick={() => window.location.reload()} data-testid="error-reload">
              Reload
            </button>
          </>
        }
      >
        <p>
          {scope === "room"
            ? "Parley ran into an error while showing this conversation."
            : "Parley ran into an error and could not show this page."}{" "}
          Your messages are safe on the server. Go back to your rooms, or reload the page.
        </p>
        <details className="problem__details">
          <summary>Technical details</summary>
          {/* A text node, like everything else (DESIGN.md invariant 6). */}
          <code data-testid="error-detail">{error.message || error.name}</code>
        </details>
      </ProblemView>
    </div>
  );
}
