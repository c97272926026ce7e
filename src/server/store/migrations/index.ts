import type { Migration, MigrationProvider } from "kysely";
import type { StoreDialect } from "../dialect.js";
import { initial } from "./0001_initial.js";
import { insertOrder } from "./0002_insert_order.js";
import { editsDeletions } from "./0003_edits_deletions.js";
import { reactions } from "./0004_reactions.js";
import { replies } from "./0005_replies.js";
import { receipts } from "./0006_receipts.js";
import { mentions } from "./0007_mentions.js";
import { lastSeen } from "./0008_last_seen.js";
import { partialReplyIndex } from "./0009_partial_reply_index.js";
import { threadReplies } from "./0010_thread_replies.js";
import { reactionEvents } from "./0011_reaction_events.js";
import { attachments } from "./0012_attachments.js";
import { search } from "./0013_search.js";
import { notifications } from "./0014_notifications.js";

/**
 * Every migration, in order, for a dialect (a migration may ask it for SQL
 * only one database understands). Names sort lexically; never rename or edit a
 * shipped one, add the next instead. Bundled as code (no directory scan),
 * so the built server carries its migrations.
 */
export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  const migrations: Record<string, Migration> = {
    "0001_initial": initial(dialect),
    "0002_insert_order": insertOrder(dialect),
    "0003_edits_deletions": editsDeletions,
    "0004_reactions": reactions,
    "0005_replies": replies,
    "0006_receipts": receipts,
    "0007_mentions": mentions,
    "0008_last_seen": lastSeen,
    "0009_partial_reply_index": partialReplyIndex,
    "0010_thread_replies": threadReplies,
    "0011_reaction_events": reactionEvents,
    "0012_attachments": attachments,
    "0013_search": search(dialect),
    "0014_notifications": notifications,
  };
  return { getMigrations: async () => migrations };
}
