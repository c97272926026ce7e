import type { Attachment } from "@shared/protocol/attachments.js";
import type { StoreDialect } from "../store/dialect.js";
import { rows, type Steps } from "../store/steps.js";
import type { SearchDocument } from "./dialect.js";
import { indexTerms } from "./tokens.js";

/**
 * Keeping the search index in step with messages (issue 18, item 1): each
 * function is steps (store/steps.ts) run inside the transaction that
 * sends, edits or deletes the message, so a search is never staler than
 * the room, and a deleted message or an edit's old text is gone from the
 * index at the commit that removes it from the room. The words new to the
 * vocabulary are the caller's to hand to search/vocabulary.ts after the
 * commit: each function returns them.
 */

/** What of a message is searched: its text and its files' names. */
export function searchedTexts(body: string, attachments: readonly Pick<Attachment, "name">[] | null | undefined): string[] {
  return attachments && attachments.length > 0 ? [body, ...attachments.map((a) => a.name)] : [body];
}

/** Indexes a new message (the send's steps). @returns its vocabulary words (SearchVocabulary.add, after the commit) */
export function* indexMessage(
  dialect: StoreDialect,
  message: { id: string; roomId: string; authorId: string; createdAt: string; body: string; attachments: readonly Pick<Attachment, "name">[] | null },
): Steps<string[]> {
  const doc: SearchDocument = {
    messageId: message.id,
    roomId: message.roomId,
    authorId: message.authorId,
    createdAt: message.createdAt,
    hasFiles: (message.attachments?.length ?? 0) > 0,
    terms: indexTerms(searchedTexts(message.body, message.attachments)),
  };
  for (const query of dialect.search.insert(doc)) yield* rows(query);
  return doc.terms.vocabulary;
}

/**
 * Replaces an edited message's terms (the edit's steps); a message the backfill has not reached yet is left to it.
 * @returns the new text's vocabulary words (SearchVocabulary.add, after the commit)
 */
export function* reindexMessage(dialect: StoreDialect, messageId: string, body: string, attachments: readonly Pick<Attachment, "name">[] | null | undefined): Steps<string[]> {
  const terms = indexTerms(searchedTexts(body, attachments));
  for (const query of dialect.search.update(messageId, terms)) yield* rows(query);
  return terms.vocabulary;
}

/** Takes a deleted message out of the index (the deletion's steps). */
export function* unindexMessage(dialect: StoreDialect, messageId: string): Steps<void> {
  for (const query of dialect.search.remove(messageId)) yield* rows(query);
}
