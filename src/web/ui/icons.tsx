/** The few line icons the client uses, inline so there is no icon font to load. */
import type { SVGProps } from "react";

function Icon(props: SVGProps<SVGSVGElement> & { d: string }) {
  const { d, ...rest } = props;
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="2"
      strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" {...rest}>
      <path d={d} />
    </svg>
  );
}

export const HashIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M5 9h14M5 15h14M10 3 8 21M16 3l-2 18" {...p} />;
export const LockIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4" {...p} />
);
export const PlusIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M12 5v14M5 12h14" {...p} />;
export const SearchIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM21 21l-5-5" {...p} />;
export const UsersIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM22 21v-2a4 4 0 0 0-3-3.9M16 3.1a4 4 0 0 1 0 7.8" {...p} />
);
export const SendIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M22 2 11 13M22 2l-7 20-4-9-9-4z" {...p} />;
export const LogoutIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9" {...p} />
);
export const ArrowDownIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M12 5v14M19 12l-7 7-7-7" {...p} />;
export const CompassIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20zM16.2 7.8l-2.1 6.3-6.3 2.1 2.1-6.3z" {...p} />
);
export const UserPlusIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM19 8v6M22 11h-6" {...p} />
);
export const DoorIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M13 4h6v16h-6M3 12h11M10 8l4 4-4 4" {...p} />;
export const PencilIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z" {...p} />;
export const TrashIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6M10 11v6M14 11v6" {...p} />
);
// Replies and threads (issue 9).
export const ThreadIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2zM8 9h8M8 13h5" {...p} />;
export const ReplyIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M9 17 4 12l5-5M4 12h11a5 5 0 0 1 5 5v2" {...p} />;
export const CloseIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M18 6 6 18M6 6l12 12" {...p} />;
export const CopyIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M9 9h11v11H9zM5 15H4V4h11v1" {...p} />
);
export const MoreIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M5 12h.01M12 12h.01M19 12h.01" strokeWidth="3" {...p} />
);
// Attachments (issue 17).
export const PaperclipIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="m21.4 11.1-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5" {...p} />
);
export const DownloadIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3" {...p} />;
export const FileIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zM14 2v6h6" {...p} />;
// Search (issue 18).
export const ArrowLeftIcon = (p: SVGProps<SVGSVGElement>) => <Icon d="M19 12H5M12 19l-7-7 7-7" {...p} />;
// Notifications (issue 19).
export const BellIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.9 1.9 0 0 0 3.4 0" {...p} />
);
export const BellOffIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M8.7 3A6 6 0 0 1 18 8c0 2.7.4 4.7 1 6.2M17 17H3s3-2 3-9c0-.8.1-1.5.4-2.2M10.3 21a1.9 1.9 0 0 0 3.4 0M2 2l20 20" {...p} />
);
export const SettingsIcon = (p: SVGProps<SVGSVGElement>) => (
  <Icon d="M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z" {...p} />
);
