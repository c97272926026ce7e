/** The page title: the unread total first, so a background tab shows it ("(3) Parley"), then the open room. */

/** Sum of the rooms' unread counts (each already capped by the server at 100). */
export function unreadTotal(rooms: Iterable<{ unreadCount: number }>): number {
  let total = 0;
  for (const r of rooms) total += r.unreadCount;
  return total;
}

/**
 * "(N) #room · Parley": N unread (999+ past that) when there are any, the
 * open conversation's name when one is open, then the base title.
 */
export function pageTitle(total: number, roomName: string | null = null, base = "Parley"): string {
  const title = roomName ? `${roomName} · ${base}` : base;
  if (total <= 0) return title;
  return `(${total > 999 ? "999+" : total}) ${title}`;
}
