/**
 * Phone pieces of the room header (the layout is in styles.css, "Phone
 * layout"): the button back to the conversation list, and the room's
 * actions folded into a menu when the header is too narrow for them.
 *
 * Both are always rendered and shown only below the phone breakpoint by
 * CSS (`display: none` elsewhere, so they are out of the accessibility tree
 * on a desktop too).
 *
 * The menu follows the WAI-ARIA menu button pattern: the button says
 * `aria-haspopup="menu"` and `aria-expanded`; opening it (click, Enter,
 * Space, ArrowDown) focuses the first item (ArrowUp: the last); ArrowUp /
 * ArrowDown / Home / End move between items; Escape closes it and focus
 * returns to the button; Tab, a tap outside or choosing an item closes it.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import type { Room } from "@shared/protocol/index.js";
import { useRoute } from "@web/app/route";
import { BellIcon, DoorIcon, UserPlusIcon, UsersIcon } from "@web/ui/icons";
import { canInvite, inviteLabel } from "./MembersDialog";

export interface RoomAction {
  /** What the item says (its accessible name). */
  label: string;
  icon?: ReactNode;
  /** Extra text after the label, e.g. a count. */
  detail?: string;
  testId: string;
  danger?: boolean;
  onSelect: () => void;
}

/** The room header's actions as menu items (the same ones the header shows as chips on a wider screen). */
export function roomActions(room: Room, open: (dialog: "members" | "add" | "leave" | "notifications") => void): RoomAction[] {
  const actions: RoomAction[] = [
    { label: "Members", detail: String(room.memberCount), icon: <UsersIcon />, testId: "menu-members", onSelect: () => open("members") },
    // The level and the mute (issue 19); on a wider screen the header's bell opens the same dialog.
    { label: "Notifications…", icon: <BellIcon />, testId: "menu-notifications", onSelect: () => open("notifications") },
  ];
  if (canInvite(room)) {
    actions.push({ label: `${inviteLabel(room)} people`, icon: <UserPlusIcon />, testId: "menu-add-member", onSelect: () => open("add") });
  }
  actions.push({ label: "Leave", icon: <DoorIcon />, testId: "menu-leave", danger: true, onSelect: () => open("leave") });
  return actions;
}

/** The header's "Back to conversations" button: the route decides which pane shows, so it goes to `#/`. */
export function BackToConversations() {
  const [, openRoom] = useRoute();
  return (
    <button type="button" className="icon-button back-button" aria-label="Back to conversations"
      title="Back to conversations" data-testid="back-to-list" onClick={() => openRoom(null)}>
      <svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" strokeWidth="2"
        strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
        <path d="M15 18 9 12l6-6" />
      </svg>
    </button>
  );
}

export function RoomActionsMenu({ actions }: { actions: readonly RoomAction[] }) {
  // null: closed; otherwise the index of the item to focus when it opens.
  const [open, setOpen] = useState<number | null>(null);
  const wrapper = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const items = useRef<(HTMLButtonElement | null)[]>([]);
  const menuId = useId();

  useEffect(() => {
    if (open === null) return;
    items.current[open]?.focus();
  }, [open]);

  // A tap or click anywhere else closes the menu (focus stays where the tap put it).
  useEffect(() => {
    if (open === null) return;
    const outside = (event: PointerEvent) => {
      if (!wrapper.current?.contains(event.target as Node)) setOpen(null);
    };
    document.addEventListener("pointerdown", outside);
    return () => document.removeEventListener("pointerdown", outside);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(null);
    if (refocus) button.current?.focus();
  };

  const choose = (action: RoomAction) => {
    // Focus goes back to the button first, so a dialog the action opens returns focus there when it closes.
    close(true);
    action.onSelect();
  };

  const onButtonKeyDown = (event: KeyboardEvent<HTMLButtonElement>) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      setOpen(event.key === "ArrowDown" ? 0 : actions.length - 1);
    }
  };

  const onMenuKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const current = items.current.findIndex((item) => item === document.activeElement);
    const last = actions.length - 1;
    let next: number | null = null;
    switch (event.key) {
      case "ArrowDown":
        next = current >= last ? 0 : current + 1;
        break;
      case "ArrowUp":
        next = current <= 0 ? last : current - 1;
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = last;
        break;
      case "Escape":
        event.preventDefault();
        event.stopPropagation();
        close(true);
        return;
      case "Tab":
        setOpen(null);
        return;
      default:
        return;
    }
    event.preventDefault();
    items.current[next]?.focus();
  };

  if (actions.length === 0) return null;
  return (
    <div
      className="room-actions-menu"
      ref={wrapper}
      onBlur={(event) => {
        // Focus moved elsewhere by keyboard (a tap outside is handled above; a tap on an item has no relatedTarget in Safari).
        const to = event.relatedTarget as Node | null;
        if (to && !wrapper.current?.contains(to)) setOpen(null);
      }}
    >
      <button
        ref={button}
        type="button"
        className="icon-button room-actions-menu__button"
        aria-label="Room actions"
        title="Room actions"
        aria-haspopup="menu"
        aria-expanded={open !== null}
        aria-controls={open !== null ? menuId : undefined}
        data-testid="room-actions"
        onClick={() => (open === null ? setOpen(0) : close(false))}
        onKeyDown={onButtonKeyDown}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" fill="currentColor" aria-hidden="true">
          <circle cx="12" cy="5" r="2" />
          <circle cx="12" cy="12" r="2" />
          <circle cx="12" cy="19" r="2" />
        </svg>
      </button>
      {open !== null ? (
        <div className="menu" role="menu" id={menuId} aria-label="Room actions" data-testid="room-actions-menu"
          onKeyDown={onMenuKeyDown}>
          {actions.map((action, index) => (
            <button
              key={action.testId}
              ref={(el) => {
                items.current[index] = el;
              }}
              type="button"
              role="menuitem"
              tabIndex={-1}
              className={action.danger ? "menu__item menu__item--danger" : "menu__item"}
              data-testid={action.testId}
              onClick={() => choose(action)}
            >
              {action.icon ? <span className="menu__icon">{action.icon}</span> : null}
              <span className="menu__label">{action.label}</span>
              {action.detail ? <span className="menu__detail">{action.detail}</span> : null}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
