/**
 * The one layout for "this cannot be shown" screens (a link that goes
 * nowhere, a crash caught by an error boundary): a heading that takes focus
 * so screen readers announce it and keyboard users start from it, a plain
 * sentence, and the ways out.
 */
import { useEffect, useRef, type ReactNode } from "react";

export interface ProblemViewProps {
  title: string;
  children: ReactNode;
  /** Buttons or links: at least one way back. */
  actions: ReactNode;
  testId: string;
  /** `alert` for an error the user did not ask for (announced at once); `none` for a not-found page. */
  role?: "alert" | "none";
}

/** A centered problem screen whose heading is focused when it appears. */
export function ProblemView({ title, children, actions, testId, role = "alert" }: ProblemViewProps) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, []);
  return (
    <div className="placeholder problem" role={role === "alert" ? "alert" : undefined} data-testid={testId}>
      <h1 ref={heading} tabIndex={-1} className="problem__title" data-testid={`${testId}-title`}>
        {title}
      </h1>
      {children}
      <div className="problem__actions">{actions}</div>
    </div>
  );
}
