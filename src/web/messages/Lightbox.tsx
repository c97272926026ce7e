/**
 * An image of a message at full size (issue 17): a modal dialog on the
 * native <dialog> element, as ui/Dialog is (the browser traps the focus,
 * Escape closes, the backdrop is its own), dark so the picture stands out.
 * It shows the image (sized from the attachment's width and height before
 * it loads: no jump), its name, a download link and "Close". The focus goes
 * to "Close" when it opens and back to what opened it (the image in the
 * message) when it closes (WAI-ARIA APG dialog pattern). A click beside the
 * image closes it too, as in every chat app's viewer.
 */
import { useEffect, useRef } from "react";
import type { Attachment } from "@shared/protocol/index.js";
import { CloseIcon, DownloadIcon } from "@web/ui/icons";
import { downloadUrl } from "@web/api/uploads";
import { formatSize } from "@shared/protocol/attachments.js";

export function Lightbox({ attachment, onClose }: { attachment: Attachment; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const el = dialog.current;
    // What had the focus (the image's button): the browser's own restore does not run, since React removes the
    // element before this cleanup closes it (ui/Dialog.tsx says the same).
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (el && !el.open) el.showModal();
    closeButton.current?.focus();
    return () => {
      el?.close();
      if (opener?.isConnected) opener.focus({ preventScroll: true });
    };
  }, []);

  const { name, width, height } = attachment;
  return (
    <dialog
      ref={dialog}
      className="lightbox"
      aria-label={name}
      data-testid="lightbox"
      onCancel={(event) => {
        // Escape: React owns the open state, not the browser.
        event.preventDefault();
        onClose();
      }}
      onMouseDown={(event) => {
        // Beside the picture (the backdrop, the empty stage), not on it or on the bar's controls.
        const target = event.target as HTMLElement;
        if (target === dialog.current || target.classList.contains("lightbox__stage")) onClose();
      }}
    >
      <div className="lightbox__bar">
        <div className="lightbox__title">
          <h2 className="lightbox__name"><bdi>{name}</bdi></h2>
          <span className="lightbox__detail">
            {formatSize(attachment.size)}
            {width && height ? ` · ${width} × ${height}` : ""}
          </span>
        </div>
        <a className="button lightbox__button" href={downloadUrl(attachment)} download={name} aria-label={`Download ${name}`}
          data-testid="lightbox-download">
          <DownloadIcon aria-hidden="true" />
          <span className="lightbox__button-text">Download</span>
        </a>
        <button ref={closeButton} type="button" className="button lightbox__button" onClick={onClose} data-testid="lightbox-close">
          <CloseIcon aria-hidden="true" />
          <span className="lightbox__button-text">Close</span>
        </button>
      </div>
      <div className="lightbox__stage">
        <img className="lightbox__image" src={attachment.url} alt={name} width={width} height={height} data-testid="lightbox-image" />
      </div>
    </dialog>
  );
}
