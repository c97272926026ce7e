/** The page title: the unread total first, so a background tab shows it ("(3) Parley"). */

/** Sum of the rooms' unread counts (each already capped by the server at 100). */
export function unreadTotal(rooms: Iterable<{ unreadCount: number }>): number {
  let total = 0;
  for (const r of rooms) total += r.unreadCount;
  return total;
}

/** "(N) Parley" with N unread (999+ past that), else just the base title. */
export function pageTitle(total: number, base = "Parley"): string {
  if (total <= 0) return base;
  return `(${total > 999 ? "999+" : total}) ${base}`;
}
