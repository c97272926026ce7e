import type { Generated } from "kysely";

/**
 * Table shapes for Kysely. Times are ISO 8601 UTC strings in both dialects,
 * so they sort as text and come back the same from SQLite and PostgreSQL.
 */

export interface UsersTable {
  id: string;
  username: string;
  /** Lower-cased username: uniqueness ignores case. */
  username_key: string;
  email: string;
  /** Lower-cased email. */
  email_key: string;
  display_name: string;
  password_hash: string;
  created_at: string;
  /** When the user's last socket closed, written when presence announces them offline; null if never (0008). */
  last_seen_at: Generated<string | null>;
}

export interface SessionsTable {
  /** SHA-256 of the cookie's token: a stolen database yields no live sessions. */
  token_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
}

export interface RoomsTable {
  id: string;
  kind: "public" | "private" | "direct";
  name: string;
  topic: string;
  /** For direct rooms: the two user ids, sorted, joined by ':'; unique. */
  direct_key: string | null;
  created_by: string;
  created_at: string;
  /** Seq of the room's latest event; the next event takes last_seq + 1. */
  last_seq: number;
  last_activity_at: string;
  last_message_id: string | null;
}

export interface RoomMembersTable {
  room_id: string;
  user_id: string;
  role: "owner" | "admin" | "member";
  joined_at: string;
  last_read_seq: number;
  /** 0006: the highest seq the member's client reported received (receipts). */
  last_delivered_seq: Generated<number>;
  /** 0014: the member's notification level for the room; null = `default` (the account's default for its kind). */
  notify_level: Generated<"all" | "mentions" | "nothing" | null>;
  /** 0014: muted until this ISO time (MUTED_FOREVER = until unmuted); null = not muted. */
  muted_until: Generated<string | null>;
}

export interface MessagesTable {
  id: string;
  room_id: string;
  seq: number;
  author_id: string;
  /** "" once deleted: the text is gone, the row stays as a tombstone. */
  body: string;
  client_id: string | null;
  created_at: string;
  /** Added by 0003; null until the first edit. */
  edited_at: Generated<string | null>;
  /** Added by 0003; null until deleted. */
  deleted_at: Generated<string | null>;
  /** Added by 0005: the thread's root for a reply (never a reply itself), else null. */
  reply_to_id: Generated<string | null>;
  /** Added by 0005: on a root, how many replies it has had (deleted ones stay as tombstones, and count). */
  reply_count: Generated<number>;
  /** Added by 0005: on a root, when its latest reply was posted; null before the first. */
  last_reply_at: Generated<string | null>;
  /** Added by 0007: the message's mentions as JSON `{userIds, room, here}`, null when it mentions nobody. */
  mentions: Generated<string | null>;
  /** Added by 0010: 1 for a thread reply (shown in its thread, not the timeline), else 0. */
  in_thread: Generated<number>;
  /** Added by 0010: 1 for a thread reply also sent to the room (shown in the timeline too), else 0. */
  also_in_room: Generated<number>;
  /** Added by 0012: the message's attachments as JSON (the wire's `Attachment[]`), null for none; null once deleted. */
  attachments: Generated<string | null>;
}

/**
 * Who a message mentions (0007): one row per mentioned user (never the
 * author), keyed (user_id, room_id, seq) for the per-user mention counts.
 */
export interface MessageMentionsTable {
  user_id: string;
  room_id: string;
  /** The mentioning message's seq. */
  seq: number;
  message_id: string;
}

/**
 * Earlier versions of edited messages (0003): one row per edit, holding the
 * text that edit replaced. Keyed by the edit event's (room_id, seq).
 * Deleting a message deletes its rows.
 */
export interface MessageEditsTable {
  room_id: string;
  /** Seq of the message.edited event that replaced this text. */
  seq: number;
  message_id: string;
  body: string;
  /** When this text was written (the message's creation, or the edit before). */
  created_at: string;
  replaced_at: string;
}

/**
 * Reactions (0004): one row per (message, emoji, user), so one person
 * reacts once per emoji. `room_id` for lookups by room (and its cascade);
 * `seq` is the room seq of the reaction.added event that made the row:
 * it orders a message's reactions, and a history page shows only those up
 * to its durable head. Removing a reaction deletes its row (the log keeps
 * the reaction.removed event); deleting the message deletes them all.
 */
export interface ReactionsTable {
  message_id: string;
  emoji: string;
  user_id: string;
  room_id: string;
  seq: number;
  /** The seq of the reaction that put this emoji on the message (its group's first, shared by the group's rows): the emoji's place. */
  group_seq: number;
  created_at: string;
}

/**
 * The reaction events of messages not deleted (0011): the seq of every
 * reaction.added / reaction.removed about `message_id`, so that deleting the
 * message blanks their emoji in the log without scanning it. Deleting the
 * message deletes its rows.
 */
export interface ReactionEventsTable {
  message_id: string;
  seq: number;
  room_id: string;
}

/**
 * The room's event log: one row per seq, holding the event frame exactly as
 * it was broadcast, so that resume replays it without re-serializing.
 */
export interface RoomEventsTable {
  room_id: string;
  seq: number;
  type: string;
  frame: string;
  created_at: string;
}

/**
 * Uploaded files (0012): who may read each and where it is stored.
 * `state`: `pending` (uploaded, not yet sent: its owner's only), `attached`
 * (part of `message_id` in `room_id`: the room's members'), `deleted` (its
 * message deleted or it was swept; the row goes once its objects are removed).
 */
export interface UploadsTable {
  id: string;
  owner_id: string;
  state: "pending" | "attached" | "deleted";
  room_id: string | null;
  message_id: string | null;
  /** AttachmentKind: image, audio, video, file. */
  kind: string;
  /** Sniffed from the content. */
  mime: string;
  /** For display only (cleaned). */
  name: string;
  /** Bytes as stored (bigint: PostgreSQL answers it as a string; read with Number()). */
  size: number | string;
  width: number | null;
  height: number | null;
  duration_ms: number | null;
  /** JSON array of 0–255 levels, or null. */
  waveform: string | null;
  /** 1: a voice note recorded in the app. */
  voice: Generated<number>;
  /** The file's key in the file storage (files/storage.ts). */
  storage_key: string;
  /** Images: the thumbnail's key, or null. */
  thumbnail_key: string | null;
  thumbnail_width: number | null;
  thumbnail_height: number | null;
  created_at: string;
  attached_at: string | null;
  deleted_at: string | null;
}

/**
 * Messages in the search index (0013), one row each; the terms themselves
 * are in the dialect's own index (search/dialect.ts). `id` orders documents
 * by time (new ones count up from 1, the backfill counts down below them).
 */
export interface SearchDocumentsTable {
  id: Generated<number>;
  message_id: string;
  room_id: string;
  author_id: string;
  created_at: string;
  has_files: number;
}

/** How far the backfill of messages older than the index has come (0013): one row, id 1. */
export interface SearchBackfillTable {
  id: number;
  /** The backfill's own resume point (search/backfill.ts), null before it starts. */
  cursor: string | null;
  /** 1 once every older message is indexed. */
  done: number;
}

/** The vocabulary that misspelt queries are corrected against (0013). */
export interface SearchWordsTable {
  word: string;
}

export interface KyselyMigrationTable {
  name: string;
  timestamp: string;
}

/** 0014: a user's account-wide notification settings; no row = the defaults. */
export interface NotificationSettingsTable {
  user_id: string;
  room_level: "all" | "mentions" | "nothing";
  direct_level: "all" | "mentions" | "nothing";
  dnd_until: string | null;
  /** 1 = email digests on. */
  email: number;
  /** When the user's last email digest was sent. */
  email_sent_at: string | null;
  updated_at: string;
}

/** 0014: a browser's Web Push subscription (RFC 8030 endpoint + RFC 8291 keys). */
export interface PushSubscriptionsTable {
  id: string;
  user_id: string;
  endpoint: string;
  /** base64url P-256 public key of the browser. */
  p256dh: string;
  /** base64url 16-byte auth secret. */
  auth: string;
  label: string;
  created_at: string;
  last_push_at: string | null;
}

/** 0014: a direct message or mention waiting for the user's next email digest. */
export interface EmailNotificationsTable {
  user_id: string;
  message_id: string;
  room_id: string;
  seq: number;
  reason: "direct" | "mention" | "room" | "message";
  created_at: string;
}

/** 0014: secrets shared by every node (VAPID keys on PostgreSQL, the unsubscribe-link key). */
export interface InstallationSecretsTable {
  name: string;
  value: string;
  created_at: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  messages: MessagesTable;
  message_edits: MessageEditsTable;
  message_mentions: MessageMentionsTable;
  reactions: ReactionsTable;
  reaction_events: ReactionEventsTable;
  room_events: RoomEventsTable;
  uploads: UploadsTable;
  search_documents: SearchDocumentsTable;
  search_backfill: SearchBackfillTable;
  search_words: SearchWordsTable;
  notification_settings: NotificationSettingsTable;
  push_subscriptions: PushSubscriptionsTable;
  email_notifications: EmailNotificationsTable;
  installation_secrets: InstallationSecretsTable;
}

export type { Generated };
