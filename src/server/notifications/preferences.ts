import type { Kysely } from "kysely";
import type { Deps, Actor } from "../deps.js";
import type { Database } from "../store/schema.js";
import {
  DEFAULT_NOTIFICATION_SETTINGS,
  MUTED_FOREVER,
  isUntilAhead,
  type NotificationSettings,
  type NotificationSettingsResponse,
  type NotificationsUpdatedEvent,
  type NotifyLevel,
  type RoomNotifications,
  type RoomNotificationsResponse,
  type RoomNotificationsUpdatedEvent,
  type UpdateNotificationSettingsRequest,
  type UpdateRoomNotificationsRequest,
} from "@shared/protocol/notifications.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError, forbidden } from "../errors.js";
import { nowIso } from "../store/ids.js";
import { findVisibleRoom, joinedMember } from "../rooms/access.js";

/**
 * A user's notification settings (issue 19): the account's defaults and do
 * not disturb (`notification_settings`, one row once changed; no row = the
 * defaults), and per room a level and a mute (`room_members.notify_level`,
 * `.muted_until`). Not room events: no seq, no writer; nobody but the user
 * sees them. Every change is told to every socket of the user on every
 * node (a `user` envelope: `notifications.updated`,
 * `room.notifications.updated`), so all their tabs and devices agree. The
 * HTTP routes (routes.ts) and the socket's `notifications.set` /
 * `room.notifications.set` call the same methods.
 */
export class NotificationPreferences {
  private readonly db: Kysely<Database>;

  /**
   * @param publicKey the Web Push VAPID public key for the settings answer
   *   (push/vapid.ts provides it; until then the configured key, or "")
   */
  constructor(
    private readonly deps: Pick<Deps, "store" | "bus" | "config">,
    private readonly publicKey: () => string = () => deps.config.vapidKeys?.publicKey ?? "",
  ) {
    this.db = deps.store.db;
  }

  /** The caller's account settings, whether the server mails digests, and the push key (one query). */
  async settings(actor: Actor): Promise<NotificationSettingsResponse> {
    return this.settingsOf(actor.userId);
  }

  private async settingsOf(userId: string): Promise<NotificationSettingsResponse> {
    const row = await this.db
      .selectFrom("notification_settings")
      .select(["room_level", "direct_level", "dnd_until", "email"])
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return this.answer(row ? toSettings(row, Date.now()) : DEFAULT_NOTIFICATION_SETTINGS);
  }

  /**
   * Changes the fields given (one upsert that returns the row) and tells
   * every socket of the user. Nothing given: nothing written, nothing told.
   * `dndUntil`: a future time turns do not disturb on until then; null
   * turns it off.
   * @throws AppError validation_failed (dndUntil not in the future; details `dndUntil`)
   */
  async updateSettings(actor: Actor, change: UpdateNotificationSettingsRequest): Promise<NotificationSettingsResponse> {
    return this.updateSettingsOf(actor.userId, change);
  }

  /**
   * updateSettings for a user named by something other than a session or
   * token: the user id an unsubscribe link carries (email/unsubscribe.ts),
   * checked by its caller.
   * @throws AppError validation_failed as updateSettings
   */
  async updateSettingsOf(userId: string, change: UpdateNotificationSettingsRequest): Promise<NotificationSettingsResponse> {
    const now = Date.now();
    if (change.dndUntil !== undefined && change.dndUntil !== null && !isUntilAhead(change.dndUntil, now)) {
      throw invalid("dndUntil", "Do not disturb ends in the future (or null turns it off).");
    }
    const set: Partial<{ room_level: NotifyLevel; direct_level: NotifyLevel; dnd_until: string | null; email: number }> = {};
    if (change.roomLevel !== undefined) set.room_level = change.roomLevel;
    if (change.directLevel !== undefined) set.direct_level = change.directLevel;
    if (change.dndUntil !== undefined) set.dnd_until = change.dndUntil === null ? null : canonicalTime(change.dndUntil);
    if (change.email !== undefined) set.email = change.email ? 1 : 0;
    if (Object.keys(set).length === 0) return this.settingsOf(userId);
    const at = nowIso();
    const d = DEFAULT_NOTIFICATION_SETTINGS;
    const row = await this.db
      .insertInto("notification_settings")
      .values({
        user_id: userId,
        room_level: set.room_level ?? d.roomLevel,
        direct_level: set.direct_level ?? d.directLevel,
        dnd_until: set.dnd_until ?? null,
        email: set.email ?? (d.email ? 1 : 0),
        email_sent_at: null,
        updated_at: at,
      })
      // Portable upsert (SQLite ≥ 3.24 and PostgreSQL): only the fields given change on an existing row.
      .onConflict((oc) => oc.column("user_id").doUpdateSet({ ...set, updated_at: at }))
      .returning(["room_level", "direct_level", "dnd_until", "email"])
      .executeTakeFirstOrThrow();
    const settings = toSettings(row, now);
    const event: NotificationsUpdatedEvent = { type: "notifications.updated", settings };
    this.deps.bus.publish({ kind: "user", userId, frame: JSON.stringify(event) });
    return this.answer(settings);
  }

  /**
   * Sets the caller's level and/or mute in one room they are a member of,
   * and tells every socket of theirs. `muted: true` mutes until `mutedUntil`
   * (a future time) or, without it, until unmuted; `muted: false` unmutes;
   * a field left out stays. One UPDATE when the caller is a member; the
   * membership is read only to tell why not.
   * @throws AppError validation_failed (mutedUntil without muted: true; mutedUntil not in the future),
   *   not_found (no room, or private/direct and not a member), forbidden (public, not joined)
   */
  async updateRoom(actor: Actor, roomId: string, change: UpdateRoomNotificationsRequest): Promise<RoomNotificationsResponse> {
    const now = Date.now();
    if (change.mutedUntil !== undefined && change.mutedUntil !== null && change.muted !== true) {
      throw invalid("mutedUntil", "A mute's end goes with muted: true.");
    }
    if (change.muted === true && change.mutedUntil != null && !isUntilAhead(change.mutedUntil, now)) {
      throw invalid("mutedUntil", "A mute ends in the future (leave mutedUntil out to mute until unmuted).");
    }
    const set: Partial<{ notify_level: NotifyLevel | null; muted_until: string | null }> = {};
    if (change.level !== undefined) set.notify_level = change.level === "default" ? null : change.level;
    if (change.muted !== undefined) set.muted_until = change.muted ? (change.mutedUntil == null ? MUTED_FOREVER : canonicalTime(change.mutedUntil)) : null;
    const write = () =>
      (Object.keys(set).length === 0
        ? this.db.selectFrom("room_members").select(["notify_level", "muted_until"]).where("room_id", "=", roomId).where("user_id", "=", actor.userId)
        : this.db.updateTable("room_members").set(set).where("room_id", "=", roomId).where("user_id", "=", actor.userId).returning(["notify_level", "muted_until"])
      ).executeTakeFirst();
    let row = await write();
    if (!row) {
      // Not a member: say why as every room read does (a private room's existence is not the caller's to learn).
      const { room, member } = await findVisibleRoom(this.db, actor.userId, roomId);
      joinedMember(room, member ?? undefined);
      // Joined between the two reads: write again, now as a member.
      row = await write();
      if (!row) throw forbidden("Join the room first.");
    }
    const notifications = roomNotificationsOf(row, now);
    if (Object.keys(set).length > 0) {
      const event: RoomNotificationsUpdatedEvent = { type: "room.notifications.updated", roomId, notifications };
      this.deps.bus.publish({ kind: "user", userId: actor.userId, frame: JSON.stringify(event) });
    }
    return { roomId, notifications };
  }

  private answer(settings: NotificationSettings): NotificationSettingsResponse {
    return { settings, emailAvailable: this.deps.config.smtpUrl !== null, push: { publicKey: this.publicKey() } };
  }
}

/** A stored row of notification_settings as the wire's settings (a do-not-disturb end past reads as off). */
function toSettings(row: { room_level: NotifyLevel; direct_level: NotifyLevel; dnd_until: string | null; email: number | boolean }, nowMs: number): NotificationSettings {
  return {
    roomLevel: row.room_level,
    directLevel: row.direct_level,
    dndUntil: isUntilAhead(row.dnd_until, nowMs) ? row.dnd_until : null,
    email: Boolean(row.email),
  };
}

/**
 * A member's stored level and mute as the wire's RoomNotifications: null
 * level = `default`; MUTED_FOREVER = muted with mutedUntil null; a mute
 * whose end is past reads as not muted. Also rooms/views.ts's.
 */
export function roomNotificationsOf(row: { notify_level: NotifyLevel | null; muted_until: string | null }, nowMs: number): RoomNotifications {
  const muted = isUntilAhead(row.muted_until, nowMs);
  return {
    level: row.notify_level ?? "default",
    muted,
    mutedUntil: muted && row.muted_until !== MUTED_FOREVER ? row.muted_until : null,
  };
}

/**
 * The stored form of a time: ISO 8601 in UTC with milliseconds, as
 * nowIso() writes, so that stored ends compare as text (the dispatcher's
 * query compares them with now in SQL).
 */
const canonicalTime = (iso: string): string => new Date(iso).toISOString();

const invalid = (path: string, message: string): AppError =>
  new AppError(ErrorCode.ValidationFailed, message, { details: [{ path, message }] });
