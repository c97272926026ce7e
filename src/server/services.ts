import type { Deps } from "./deps.js";
import { AuthService } from "./auth/service.js";
import { RoomService } from "./rooms/service.js";
import { MessageService } from "./messages/service.js";
import { MessageEditService } from "./messages/edits.js";
import { MessageDeletionService } from "./messages/deletions.js";
import { ReactionService } from "./messages/reactions.js";
import { ReplyService } from "./messages/replies.js";
import { RoomWriter } from "./events/writer.js";
import { UserService } from "./users/service.js";
import { PresenceService } from "./presence/service.js";
import { TypingService } from "./presence/typing.js";
import { ReceiptService } from "./rooms/receipts.js";
import { ClusterPresenceStore } from "./presence/cluster.js";
import { RemoteTypists } from "./presence/typing-cluster.js";
import { UploadService } from "./files/uploads.js";
import { SearchService } from "./search/service.js";
import { SearchVocabulary } from "./search/vocabulary.js";
import { NotificationDispatcher } from "./notifications/dispatcher.js";
import { NotificationPreferences } from "./notifications/preferences.js";
import type { NotificationSink } from "./notifications/sinks.js";
import { VapidKeys } from "./notifications/push/vapid.js";
import { PushSink, type PushTls } from "./notifications/push/sender.js";
import { PushSubscriptions } from "./notifications/push/subscriptions.js";
import { EmailDigests, EmailSink } from "./notifications/email/digests.js";
import { EmailUnsubscribe } from "./notifications/email/unsubscribe.js";
import { openMailer } from "./notifications/email/mailer.js";

/** Every domain service, built once per server from the same deps. */
export interface Services {
  auth: AuthService;
  users: UserService;
  rooms: RoomService;
  messages: MessageService;
  /** Editing messages and their history (messages/edits.ts). */
  edits: MessageEditService;
  /** Deleting messages for everyone (messages/deletions.ts). */
  deletions: MessageDeletionService;
  /** Emoji reactions: add and remove, each a seq'd room event (messages/reactions.ts). */
  reactions: ReactionService;
  /** Threads: a message's replies (messages/replies.ts; replies are sent by `messages.send`). */
  replies: ReplyService;
  /** Ephemeral: who is online/away/offline (no seq, no writer). */
  presence: PresenceService;
  /** Ephemeral: who is typing where (no seq, no writer). */
  typing: TypingService;
  /** Many nodes: typists of other nodes, stopped here when their node dies; null on a node alone. */
  remoteTypists: RemoteTypists | null;
  /** Read and delivery positions, mark-all-read, batched receipts.updated (rooms/receipts.ts). */
  receipts: ReceiptService;
  /** The group-commit queue behind every seq-taking write; drained at shutdown. */
  writer: RoomWriter;
  /** Files: uploading, cancelling, who may read them (files/uploads.ts). */
  uploads: UploadService;
  /** Message search (search/service.ts). */
  search: SearchService;
  /** New words of sent and edited messages, written to the search vocabulary off the send path; started and stopped with the node. */
  vocabulary: SearchVocabulary;
  /** Who is notified of each new message, after its commit (notifications/dispatcher.ts); drained at shutdown. */
  notifications: NotificationDispatcher;
  /** Notification settings: the account's, and a member's per room (notifications/preferences.ts). */
  notificationPreferences: NotificationPreferences;
  /** Web Push: the VAPID key pair (loaded by createServer before it listens; `publicKey()` for the settings answer). */
  pushKeys: VapidKeys;
  /** Web Push: the decider's sink for users with no socket anywhere (queue, collapse, send); stopped before the store closes. */
  push: PushSink;
  /** Web Push: users' subscribed devices (create, list, delete, test). */
  pushSubscriptions: PushSubscriptions;
  /** Email digests' queue: the notification dispatcher's sink for email (a no-op without --smtp-url); drained at close. */
  emailSink: EmailSink;
  /** Email digests' job: mails what is still unread after the delay, on one node; started and stopped with the node. */
  emailDigests: EmailDigests;
  /** The unsubscribe links of email digests (tokens, one-click unsubscribe). */
  unsubscribe: EmailUnsubscribe;
}

/** What createServices takes besides the deps (issue 19: Web Push and email plug in here). */
export interface ServicesOptions {
  /** Consumers of each decided batch of notifications besides Web Push (email/); more can be added later with `notifications.addSink`. */
  notificationSinks?: NotificationSink[];
  /** Whom the Web Push agent trusts instead of the system's CAs (a test's push service; never a setting). */
  pushTls?: PushTls;
}

export function createServices(deps: Deps, opts: ServicesOptions = {}): Services {
  const { dialect } = deps.store;
  const writer = new RoomWriter(deps.store.db, deps.bus, deps.log, () => dialect.durable(), {
    commitWindowMs: deps.config.commitWindowMs,
    beforeCommit: () => dialect.beforeCommit(),
    sync: deps.store.sync,
    observer: deps.metrics.sendPath,
    lockRooms: (db, roomIds) => dialect.roomsLock(db, roomIds),
  });
  const rooms = new RoomService(deps, writer);
  const vocabulary = new SearchVocabulary(deps.store, deps.log);
  const pushKeys = new VapidKeys({ config: deps.config, db: deps.store.db });
  const push = new PushSink({ config: deps.config, db: deps.store.db, log: deps.log, keys: pushKeys, tls: opts.pushTls });
  // Many nodes: presence is the most present over every node's sockets (presence/cluster.ts).
  const presence = new PresenceService(deps, deps.cluster ? new ClusterPresenceStore(deps.bus, deps.cluster) : undefined);
  const notificationPreferences = new NotificationPreferences(deps, () => pushKeys.publicKey());
  const unsubscribe = new EmailUnsubscribe(deps, notificationPreferences);
  // Email digests: the dispatcher's sink for email (a no-op without --smtp-url).
  const emailSink = new EmailSink(deps);
  const notifications = new NotificationDispatcher({
    db: deps.store.db,
    bus: deps.bus,
    log: deps.log,
    // A socket on any node (the raw presence state): no Web Push then, and `@here` counts.
    connected: (userId) => presence.isConnected(userId),
    sync: deps.store.sync,
    sinks: [push, ...(opts.notificationSinks ?? []), emailSink],
    queueMax: deps.config.notificationQueueMax,
  });
  return {
    auth: new AuthService(deps),
    users: new UserService(deps),
    rooms,
    messages: new MessageService(deps, writer, vocabulary, notifications),
    edits: new MessageEditService(deps, writer, vocabulary),
    deletions: new MessageDeletionService(deps, writer),
    reactions: new ReactionService(deps, writer),
    replies: new ReplyService(deps, writer),
    presence,
    typing: new TypingService(deps, undefined, (userId, roomId) => rooms.membership.require(userId, roomId)),
    remoteTypists: deps.cluster ? new RemoteTypists(deps.bus, deps.cluster) : null,
    receipts: new ReceiptService(deps, rooms),
    writer,
    // The batched membership checks of the room service: a page of images asks for many files in one turn.
    uploads: new UploadService(deps, rooms.membership),
    search: new SearchService(deps, writer, vocabulary),
    vocabulary,
    notifications,
    notificationPreferences,
    pushKeys,
    push,
    pushSubscriptions: new PushSubscriptions({ config: deps.config, db: deps.store.db, tests: push }),
    emailSink,
    emailDigests: new EmailDigests(deps, openMailer(deps.config), unsubscribe),
    unsubscribe,
  };
}
