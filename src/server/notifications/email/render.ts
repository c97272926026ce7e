/**
 * The text and HTML bodies of an email digest (issue 19). Everything a user
 * typed (message text, names of people and rooms) is escaped in the HTML
 * body (DESIGN.md invariant 6): a digest never carries markup but ours.
 */

/** One missed message as the digest shows it. */
export interface DigestEntry {
  roomId: string;
  /** The room's name; for a direct room, unused (the conversation is named after the author). */
  roomName: string;
  roomKind: "public" | "private" | "direct";
  seq: number;
  authorName: string;
  /** When it was sent (ISO 8601). */
  createdAt: string;
  /** The message's text, already cut to PREVIEW_CHARS, or a stand-in for a message of files only. */
  preview: string;
  /** Where the message opens in the web app. */
  url: string;
}

export interface DigestInput {
  /** The recipient's display name (the greeting). */
  recipientName: string;
  /** The entries shown, in the order to show them (grouped below by conversation, in order of first appearance). */
  entries: readonly DigestEntry[];
  /** Missed messages in all, shown or not (a digest shows at most DIGEST_MAX_ENTRIES). */
  total: number;
  /** The web app (config.publicUrl). */
  appUrl: string;
  /** The one-click unsubscribe link (also in List-Unsubscribe). */
  unsubscribeUrl: string;
}

export interface RenderedDigest {
  subject: string;
  text: string;
  html: string;
}

/** Characters of a message's text a digest shows. */
export const PREVIEW_CHARS = 200;

/** `text` for HTML text and attribute values: the five characters that could end either, as entities. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A message's text on one line, cut to PREVIEW_CHARS (with "…" when cut). */
export function previewOf(body: string): string {
  const line = body.replace(/\s+/g, " ").trim();
  const chars = [...line];
  return chars.length > PREVIEW_CHARS ? `${chars.slice(0, PREVIEW_CHARS - 1).join("")}…` : line;
}

/** "2026-12-07 08:37 UTC": a reader's time zone is unknown to the server, so the time says which one it is in. */
function timeOf(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A conversation's heading: "#general" for a room, "Alice" (the other person) for a direct room. */
function conversationOf(entry: DigestEntry): string {
  return entry.roomKind === "direct" ? `Direct message from ${entry.authorName}` : `#${entry.roomName}`;
}

/** Entries by conversation, in order of each conversation's first entry. */
function byConversation(entries: readonly DigestEntry[]): DigestEntry[][] {
  const groups = new Map<string, DigestEntry[]>();
  for (const e of entries) {
    const group = groups.get(e.roomId);
    if (group) group.push(e);
    else groups.set(e.roomId, [e]);
  }
  return [...groups.values()];
}

/** The subject, text and HTML of one digest. */
export function renderDigest(input: DigestInput): RenderedDigest {
  const { entries, total } = input;
  const first = entries[0];
  const subject =
    total === 1 && first
      ? first.roomKind === "direct"
        ? `New message from ${first.authorName}`
        : `${first.authorName} mentioned you in #${first.roomName}`
      : `${total} unread messages on Parley`;
  const groups = byConversation(entries);
  const more = total - entries.length;

  const text: string[] = [`Hi ${input.recipientName},`, "", total === 1 ? "You have an unread message on Parley:" : `You have ${total} unread messages on Parley:`, ""];
  for (const group of groups) {
    text.push(conversationOf(group[0]!));
    for (const e of group) text.push(`  ${e.authorName}, ${timeOf(e.createdAt)}: ${e.preview}`, `  ${e.url}`);
    text.push("");
  }
  if (more > 0) text.push(`…and ${more} more: ${input.appUrl}`, "");
  text.push("You get this email because you were not there to read these messages.", `Stop these emails: ${input.unsubscribeUrl}`);

  const html: string[] = [
    "<!doctype html>",
    '<html><head><meta charset="utf-8"><title>' + escapeHtml(subject) + "</title></head>",
    '<body style="font-family: sans-serif; line-height: 1.4">',
    `<p>Hi ${escapeHtml(input.recipientName)},</p>`,
    `<p>${total === 1 ? "You have an unread message on Parley:" : `You have ${total} unread messages on Parley:`}</p>`,
  ];
  for (const group of groups) {
    html.push(`<h2 style="font-size: 1.1em">${escapeHtml(conversationOf(group[0]!))}</h2>`, "<ul>");
    for (const e of group) {
      html.push(
        `<li><strong>${escapeHtml(e.authorName)}</strong> <small>${escapeHtml(timeOf(e.createdAt))}</small><br>` +
          `${escapeHtml(e.preview)}<br><a href="${escapeHtml(e.url)}">Open in Parley</a></li>`,
      );
    }
    html.push("</ul>");
  }
  if (more > 0) html.push(`<p>…and ${more} more in <a href="${escapeHtml(input.appUrl)}">Parley</a>.</p>`);
  html.push(
    `<p style="color: #666; font-size: 0.9em">You get this email because you were not there to read these messages. <a href="${escapeHtml(input.unsubscribeUrl)}">Stop these emails</a>.</p>`,
    "</body></html>",
  );
  return { subject, text: text.join("\n"), html: html.join("\n") };
}
