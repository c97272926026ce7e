import { CompiledQuery, sql, type Kysely } from "kysely";
import type { SearchDialect, SearchDocument } from "./dialect.js";
import type { IndexTerms } from "./tokens.js";

/**
 * The search index on SQLite: FTS5 (https://sqlite.org/fts5.html).
 *
 * `search_index` is contentless (`content=''`: the text lives in messages
 * once, not twice) and deletable (`contentless_delete=1`, SQLite 3.43+), its
 * rowid the document's id. The term streams arrive tokenized by
 * search/tokens.ts, joined by spaces, and FTS5's unicode61 tokenizer only
 * splits them again at those spaces: its categories include marks (`M*`),
 * which it would otherwise treat as separators (Thai vowels), and it removes
 * no diacritics (tokens.ts folded them already). A gap in `grams` is the
 * token "0", which no query gram can be (grams are three characters, or one
 * character of an unspaced script).
 *
 * `search_words` is the vocabulary for misspelt queries, with an FTS5
 * trigram table over it (kept by a trigger), so close words are found by
 * shared trigrams.
 */
export const sqliteSearch: SearchDialect = {
  async createTables(db: Kysely<unknown>) {
    await sql`CREATE TABLE search_documents (
      id INTEGER PRIMARY KEY,
      message_id TEXT NOT NULL UNIQUE,
      room_id TEXT NOT NULL,
      author_id TEXT NOT NULL,
      created_at TEXT NOT NULL,
      has_files INTEGER NOT NULL
    )`.execute(db);
    await sql`CREATE INDEX search_documents_room ON search_documents (room_id, id)`.execute(db);
    await sql`CREATE VIRTUAL TABLE search_index USING fts5(
      room, words, stems, grams,
      tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'",
      content = '', contentless_delete = 1
    )`.execute(db);
    await sql`CREATE TABLE search_words (id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE)`.execute(db);
    await sql`CREATE VIRTUAL TABLE search_words_trigram USING fts5(word, tokenize = 'trigram', content = 'search_words', content_rowid = 'id')`.execute(db);
    await sql`CREATE TRIGGER search_words_added AFTER INSERT ON search_words BEGIN
      INSERT INTO search_words_trigram (rowid, word) VALUES (new.id, new.word);
    END`.execute(db);
    // Where the backfill of messages older than the index stands (search/backfill.ts).
    await sql`CREATE TABLE search_backfill (id INTEGER PRIMARY KEY CHECK (id = 1), cursor TEXT, done INTEGER NOT NULL DEFAULT 0)`.execute(db);
  },

  insert(doc: SearchDocument) {
    const queries = [
      CompiledQuery.raw(
        "INSERT INTO search_documents (id, message_id, room_id, author_id, created_at, has_files) VALUES (?, ?, ?, ?, ?, ?)",
        [doc.id ?? null, doc.messageId, doc.roomId, doc.authorId, doc.createdAt, doc.hasFiles ? 1 : 0],
      ),
      CompiledQuery.raw(
        "INSERT INTO search_index (rowid, room, words, stems, grams) VALUES ((SELECT id FROM search_documents WHERE message_id = ?), ?, ?, ?, ?)",
        [doc.messageId, roomToken(doc.roomId), ...streams(doc.terms)],
      ),
    ];
    if (doc.terms.vocabulary.length > 0) queries.push(addVocabulary(doc.terms.vocabulary));
    return queries;
  },

  update(messageId: string, terms: IndexTerms) {
    const queries = [
      // contentless_delete tables take an UPDATE that gives every column; room is unchanged but must be given.
      CompiledQuery.raw(
        `UPDATE search_index SET words = ?, stems = ?, grams = ?,
           room = (SELECT 'r' || replace(room_id, '-', '') FROM search_documents WHERE message_id = ?)
         WHERE rowid = (SELECT id FROM search_documents WHERE message_id = ?)`,
        [...streams(terms), messageId, messageId],
      ),
    ];
    if (terms.vocabulary.length > 0) queries.push(addVocabulary(terms.vocabulary));
    return queries;
  },

  remove(messageId: string) {
    return [
      CompiledQuery.raw("DELETE FROM search_index WHERE rowid = (SELECT id FROM search_documents WHERE message_id = ?)", [messageId]),
      CompiledQuery.raw("DELETE FROM search_documents WHERE message_id = ?", [messageId]),
    ];
  },
};

/** A room as a token of the `room` column: "r" and its id's hex digits (a token is letters and digits only). */
export function roomToken(roomId: string): string {
  return "r" + roomId.replace(/-/g, "");
}

/** The words, stems and grams columns' text. */
function streams(terms: IndexTerms): [string, string, string] {
  return [terms.words.join(" "), terms.stems.join(" "), terms.grams.map((g) => g ?? "0").join(" ")];
}

/** New words into the vocabulary; known ones are skipped (`WHERE true` lets SQLite parse the upsert after a SELECT). */
function addVocabulary(words: string[]): CompiledQuery {
  return CompiledQuery.raw("INSERT INTO search_words (word) SELECT value FROM json_each(?) WHERE true ON CONFLICT (word) DO NOTHING", [JSON.stringify(words)]);
}
