/**
 * A modal dialog on the native <dialog> element: the browser provides the
 * focus trap, Escape to close and the backdrop, so none of it is re-invented.
 */
import { useEffect, useRef, type ReactNode } from "react";

export interface DialogProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** For tests and styling. */
  testId?: string;
  wide?: boolean;
  /** A bottom sheet on a phone (styles.css, `.dialog--sheet`), a small centred dialog elsewhere. */
  sheet?: boolean;
}

export function Dialog({ title, onClose, children, testId, wide, sheet }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const dialog = ref.current;
    // Where focus goes back to on close (WAI-ARIA APG dialog pattern): the browser's own restore does not
    // run here, because React removes the element before this effect's cleanup closes it.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      // Unless what closed it moved the focus on purpose (an edit box, the composer): then that stays.
      const moved = document.activeElement !== null && document.activeElement !== document.body && !dialog?.contains(document.activeElement);
      dialog?.close();
      if (opener?.isConnected && !moved) opener.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      className={["dialog", wide ? "dialog--wide" : "", sheet ? "dialog--sheet" : ""].filter(Boolean).join(" ")}
      data-testid={testId}
      aria-label={title}
      onCancel={(event) => {
        // Escape: let React own the open state instead of the browser.
        event.preventDefault();
        onClose();
      }}
      onMouseDown={(event) => {
        // A click on the backdrop (the dialog element itself) closes it.
        if (event.target === ref.current) onClose();
      }}
    >
      <div className="dialog__panel">
        <header className="dialog__header">
          <h2>{title}</h2>
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <div className="dialog__body">{children}</div>
      </div>
    </dialog>
  );
}
