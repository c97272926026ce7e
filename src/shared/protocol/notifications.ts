import { z } from "zod";
import { idText } from "./text.js";
import { MAX_SEQ } from "./limits.js";

/**
 * Notifications (issue 19): who is told of a message, and how. The server
 * decides (server/notifications/decide.ts, with `effectiveLevel` and
 * `isMuted` below); clients only show what it sends: an in-app
 * `notification` frame to every open socket of the user, a Web Push
 * message (RFC 8030, encrypted per RFC 8291) when the user has no socket
 * open on any node, an email digest of direct messages and mentions still
 * unread after a delay (when the operator configured SMTP).
 *
 * Levels, per member and room: `all` (every message), `mentions` (mentions
 * of me, `@room`/`@here` included, and every message of a direct room),
 * `nothing`. A room's level `default` follows the account's default for its
 * kind: rooms `mentions`, direct rooms `all` unless the user changed them.
 * A mute (for a while or until unmuted) silences a room whatever its level;
 * unread counts stay. Do not disturb silences everything until its end.
 */

/** A notification level (Slack's "all new messages / mentions / nothing"). */
export const NotifyLevelSchema = z.enum(["all", "mentions", "nothing"]).meta({ id: "NotifyLevel" });
export type NotifyLevel = z.infer<typeof NotifyLevelSchema>;

/** A room's level as a member set it: `default` = the account's default for the room's kind. */
export const RoomNotifyLevelSchema = z.enum(["default", "all", "mentions", "nothing"]).meta({ id: "RoomNotifyLevel" });
export type RoomNotifyLevel = z.infer<typeof RoomNotifyLevelSchema>;

/** The account defaults when a user never changed them. */
export const DEFAULT_ROOM_LEVEL: NotifyLevel = "mentions";
export const DEFAULT_DIRECT_LEVEL: NotifyLevel = "all";

/** ISO 8601 UTC time; also the end of a mute or of do not disturb. */
const Time = z.iso.datetime({ offset: true });

/**
 * A member's notification settings for one room, carried on the Room (its
 * `notifications`, ext) and in `room.notifications.updated`.
 * `muted` with `mutedUntil` null = muted until unmuted; a mute whose
 * `mutedUntil` has passed reads as not muted.
 */
export const RoomNotificationsSchema = z.object({
  level: RoomNotifyLevelSchema,
  muted: z.boolean(),
  mutedUntil: Time.nullable(),
}).meta({ id: "RoomNotifications" });
export type RoomNotifications = z.infer<typeof RoomNotificationsSchema>;

/** A room's settings when the member never changed them. */
export const DEFAULT_ROOM_NOTIFICATIONS: RoomNotifications = { level: "default", muted: false, mutedUntil: null };

/** A user's account-wide notification settings. */
export const NotificationSettingsSchema = z.object({
  /** Level of rooms (public, private) left at `default`. */
  roomLevel: NotifyLevelSchema,
  /** Level of direct rooms left at `default`. */
  directLevel: NotifyLevelSchema,
  /** Do not disturb until this time; null = off. A time past reads as off. */
  dndUntil: Time.nullable(),
  /** Email digests of missed direct messages and mentions (only sent when the server has SMTP: `emailAvailable`). */
  email: z.boolean(),
}).meta({ id: "NotificationSettings" });
export type NotificationSettings = z.infer<typeof NotificationSettingsSchema>;

export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = {
  roomLevel: DEFAULT_ROOM_LEVEL,
  directLevel: DEFAULT_DIRECT_LEVEL,
  dndUntil: null,
  email: true,
};

/** GET /api/v1/notifications/settings, and the answer of PATCH. */
export const NotificationSettingsResponseSchema = z.object({
  settings: NotificationSettingsSchema,
  /** The server sends email digests (an operator set --smtp-url). */
  emailAvailable: z.boolean(),
  /** Web Push: the server's VAPID public key (RFC 8292, base64url, uncompressed P-256 point) for PushManager.subscribe. */
  push: z.object({ publicKey: z.string() }),
}).meta({ id: "NotificationSettingsResponse" });
export type NotificationSettingsResponse = z.infer<typeof NotificationSettingsResponseSchema>;

/** PATCH /api/v1/notifications/settings (and the socket's `notifications.set`): the fields to change. */
export const UpdateNotificationSettingsRequestSchema = z.object({
  roomLevel: NotifyLevelSchema.optional(),
  directLevel: NotifyLevelSchema.optional(),
  dndUntil: Time.nullable().optional(),
  email: z.boolean().optional(),
}).strict().meta({ id: "UpdateNotificationSettingsRequest" });
export type UpdateNotificationSettingsRequest = z.infer<typeof UpdateNotificationSettingsRequestSchema>;

/**
 * PUT /api/v1/rooms/:roomId/notifications (and the socket's
 * `room.notifications.set`): `level` and/or the mute. `muted: true` with
 * `mutedUntil` (a future time) mutes for a while, without it until
 * unmuted; `muted: false` unmutes. Fields left out stay as they are.
 */
export const UpdateRoomNotificationsRequestSchema = z.object({
  level: RoomNotifyLevelSchema.optional(),
  muted: z.boolean().optional(),
  mutedUntil: Time.nullable().optional(),
}).strict().meta({ id: "UpdateRoomNotificationsRequest" });
export type UpdateRoomNotificationsRequest = z.infer<typeof UpdateRoomNotificationsRequestSchema>;

export const RoomNotificationsResponseSchema = z.object({
  roomId: z.string(),
  notifications: RoomNotificationsSchema,
}).meta({ id: "RoomNotificationsResponse" });
export type RoomNotificationsResponse = z.infer<typeof RoomNotificationsResponseSchema>;

/** Why a user is notified of a message. */
export const NotificationReasonSchema = z.enum(["direct", "mention", "room", "message"]);
/** direct: a direct room's message; mention: `@me`; room: `@room`/`@here`; message: a room at level `all`. */
export type NotificationReason = z.infer<typeof NotificationReasonSchema>;

/**
 * What a notification says, the same in the in-app frame and in the Web
 * Push payload (the service worker parses it with this schema).
 * `title`: the conversation ("#general", or the other person's name in a
 * direct room); `body`: "alice: the text…" (≤ 200 chars), or without
 * previews (--push-previews false, push only) "New message from alice";
 * `tag`: one per conversation, so a newer notification replaces the older;
 * `url`: the app path that opens the message (`/#/rooms/<encodeURIComponent(roomId)>/<seq>`).
 */
export const NotificationSchema = z.object({
  roomId: z.string(),
  messageId: z.string(),
  seq: z.number().int().positive().max(MAX_SEQ),
  reason: NotificationReasonSchema,
  title: z.string(),
  body: z.string(),
  tag: z.string(),
  url: z.string(),
  /** When the message was sent (ISO 8601). */
  createdAt: Time,
  /** Messages collapsed into this one (push bursts: "3 new messages"); absent = 1. */
  count: z.number().int().positive().optional(),
}).meta({ id: "Notification" });
export type Notification = z.infer<typeof NotificationSchema>;

/** A test notification (POST …/push/subscriptions/:id/test) has this reason-less shape's `tag`. */
export const TEST_NOTIFICATION_TAG = "parley-test";

/** The Web Push payload: a notification, or a test one. */
export const PushPayloadSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("message"), notification: NotificationSchema }),
  z.object({ kind: z.literal("test"), title: z.string(), body: z.string(), tag: z.string() }),
]);
export type PushPayload = z.infer<typeof PushPayloadSchema>;

// ---- Web Push subscriptions ----

/** base64url without padding (RFC 4648 §5), as PushSubscription.toJSON() gives the keys. */
const Base64Url = (label: string, max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, `${label} must be base64url`);

/** POST /api/v1/push/subscriptions: a browser's PushSubscription.toJSON(), plus a name for the device. */
export const CreatePushSubscriptionRequestSchema = z.object({
  /** The push service's https URL for this browser (RFC 8030). */
  endpoint: z.url({ protocol: /^https$/ }).max(2048),
  keys: z.object({
    /** The browser's P-256 public key (65 bytes, base64url). */
    p256dh: Base64Url("keys.p256dh", 128),
    /** The 16-byte authentication secret (base64url). */
    auth: Base64Url("keys.auth", 64),
  }),
  /** The device as the user will see it in the list ("Firefox on Linux"); default from the User-Agent. */
  label: z.string().trim().min(1).max(100).optional(),
}).meta({ id: "CreatePushSubscriptionRequest" });
export type CreatePushSubscriptionRequest = z.infer<typeof CreatePushSubscriptionRequestSchema>;

/** A subscribed device, as its owner lists it (the endpoint's host only: the full URL is a capability). */
export const PushSubscriptionSchema = z.object({
  id: z.string(),
  label: z.string(),
  /** The push service's host, e.g. fcm.googleapis.com. */
  service: z.string(),
  createdAt: Time,
  /** The last push the service accepted for it; null: none yet. */
  lastPushAt: Time.nullable(),
}).meta({ id: "PushSubscription" });
export type PushSubscription = z.infer<typeof PushSubscriptionSchema>;

export const PushSubscriptionResponseSchema = z.object({ subscription: PushSubscriptionSchema }).meta({ id: "PushSubscriptionResponse" });
export const PushSubscriptionsResponseSchema = z.object({ subscriptions: z.array(PushSubscriptionSchema) }).meta({ id: "PushSubscriptionsResponse" });

export const PushSubscriptionParamsSchema = z.object({ subscriptionId: idText({ label: "subscriptionId", max: 64 }) });

// ---- WebSocket ----

const CommandId = idText({ label: "Command id", max: 64 });

/** `notifications.set` (ext): the account's settings, as PATCH /notifications/settings; the ack carries `notifications`. */
export const NotificationsSetCommandSchema = z.object({
  type: z.literal("notifications.set"),
  id: CommandId,
  ...UpdateNotificationSettingsRequestSchema.shape,
}).strict();

/** `room.notifications.set` (ext): one room's level and mute, as PUT …/notifications; the ack carries `roomNotifications`. */
export const RoomNotificationsSetCommandSchema = z.object({
  type: z.literal("room.notifications.set"),
  id: CommandId,
  roomId: idText({ label: "Room id", max: 64 }),
  ...UpdateRoomNotificationsRequestSchema.shape,
}).strict();

/** Ephemeral, to every socket of the user: their account settings changed (any tab, device or API call). */
export const NotificationsUpdatedEventSchema = z.object({
  type: z.literal("notifications.updated"),
  settings: NotificationSettingsSchema,
});
export type NotificationsUpdatedEvent = z.infer<typeof NotificationsUpdatedEventSchema>;

/** Ephemeral, to every socket of the user: their settings for one room changed. */
export const RoomNotificationsUpdatedEventSchema = z.object({
  type: z.literal("room.notifications.updated"),
  roomId: z.string(),
  notifications: RoomNotificationsSchema,
});
export type RoomNotificationsUpdatedEvent = z.infer<typeof RoomNotificationsUpdatedEventSchema>;

/**
 * Ephemeral, to every socket of the user: the server decided that this
 * message notifies them (level, mute, do not disturb applied). A client
 * shows it only when none of the user's tabs is focused.
 */
export const NotificationEventSchema = z.object({
  type: z.literal("notification"),
  notification: NotificationSchema,
});
export type NotificationEvent = z.infer<typeof NotificationEventSchema>;

// ---- the rules ----

/** The sentinel stored for "muted until unmuted" (never sent: the wire says mutedUntil null). */
export const MUTED_FOREVER = "9999-12-31T23:59:59.999Z";

/** Whether a mute or do-not-disturb end time is still ahead at `nowMs` (null: not set). */
export function isUntilAhead(until: string | null, nowMs: number): boolean {
  return until !== null && Date.parse(until) > nowMs;
}

/** A member's level in a room after `default` is resolved against the account's settings. */
export function effectiveLevel(level: RoomNotifyLevel, roomKind: "public" | "private" | "direct", settings: Pick<NotificationSettings, "roomLevel" | "directLevel">): NotifyLevel {
  if (level !== "default") return level;
  return roomKind === "direct" ? settings.directLevel : settings.roomLevel;
}

/**
 * Why `level` lets a message through for a member, or null. `mention`: the
 * message names them; `broadcast`: `@room`, or `@here` while they are
 * connected. A direct room at `mentions` notifies every message (in a
 * conversation of two, every message is addressed to me).
 */
export function notifyReason(
  level: NotifyLevel,
  roomKind: "public" | "private" | "direct",
  addressed: { mention: boolean; broadcast: boolean },
): NotificationReason | null {
  if (level === "nothing") return null;
  if (roomKind === "direct") return "direct";
  if (addressed.mention) return "mention";
  if (addressed.broadcast) return "room";
  return level === "all" ? "message" : null;
}
