import { CompiledQuery, sql, type Kysely } from "kysely";
import type { SearchDialect, SearchDocument, SearchPlan } from "./dialect.js";
import type { IndexTerms } from "./tokens.js";
import type { MatchNode } from "./query.js";
import { trigramsOf } from "./tokens.js";

/**
 * The search index on SQLite: FTS5 (https://sqlite.org/fts5.html).
 *
 * `search_index` is contentless (`content=''`: the text lives in messages
 * once, not twice) and deletable (`contentless_delete=1`, SQLite 3.43+), its
 * rowid the document's id. The term streams arrive tokenized by
 * search/tokens.ts, joined by spaces, and FTS5's unicode61 tokenizer only
 * splits them again at those spaces: its categories include marks (`M*`),
 * which it would otherwise treat as separators (Thai vowels), and it removes
 * no diacritics (tokens.ts folded them already). A gap in a stream is the
 * token U+E000, a private-use character (category Co, a token character
 * here) that tokens.ts never makes: no query term can be or match it.
 *
 * `search_words` is the vocabulary, with an FTS5 trigram table over it
 * (the trigram tokenizer, kept by a trigger): the words containing a part
 * of a word are found there, and misspelt words' neighbours by shared
 * trigrams.
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

  page(plan: SearchPlan) {
    const params: unknown[] = [];
    if (plan.match === null) {
      // Filters only: newest first down the documents' id.
      const where = filters(plan, params);
      if (plan.cursor) {
        where.push("d.id < ?");
        params.push(plan.cursor.id);
      }
      params.push(plan.limit);
      return CompiledQuery.raw(`SELECT d.id AS id, d.message_id AS message_id, d.room_id AS room_id, 0 AS score FROM search_documents d WHERE ${where.join(" AND ")} ORDER BY d.id DESC LIMIT ?`, params);
    }
    if (plan.sort === "date") {
      // FTS5 hands out rowids newest first and stops at the LIMIT: no sort, no scan past the page.
      const { from, where } = matched(plan, params);
      if (plan.cursor) {
        where.push("search_index.rowid < ?");
        params.push(plan.cursor.id);
      }
      params.push(plan.limit);
      return CompiledQuery.raw(
        `SELECT d.id AS id, d.message_id AS message_id, d.room_id AS room_id, 0 AS score ${from} WHERE ${where.join(" AND ")} ORDER BY search_index.rowid DESC LIMIT ?`,
        params,
      );
    }
    // Relevance: bm25 over the newest `window` matches (room 0, words 1, stems 4, grams 1: a whole word or its forms weigh more than a part of one).
    const { from, where } = matched(plan, params);
    params.push(plan.window);
    const after = plan.cursor ? "WHERE score < ? OR (score = ? AND id < ?)" : "";
    if (plan.cursor) params.push(plan.cursor.score, plan.cursor.score, plan.cursor.id);
    params.push(plan.limit);
    return CompiledQuery.raw(
      `SELECT id, message_id, room_id, score FROM (
         SELECT d.id AS id, d.message_id AS message_id, d.room_id AS room_id, -bm25(search_index, 0.0, 1.0, 4.0, 1.0) AS score
         ${from} WHERE ${where.join(" AND ")} ORDER BY search_index.rowid DESC LIMIT ?
       ) ${after} ORDER BY score DESC, id DESC LIMIT ?`,
      params,
    );
  },

  count(plan: SearchPlan, atMost: number) {
    const params: unknown[] = [];
    if (plan.match === null) {
      const where = filters(plan, params);
      params.push(atMost);
      return CompiledQuery.raw(`SELECT count(*) AS n FROM (SELECT 1 FROM search_documents d WHERE ${where.join(" AND ")} LIMIT ?)`, params);
    }
    const { from, where } = matched(plan, params);
    params.push(atMost);
    return CompiledQuery.raw(`SELECT count(*) AS n FROM (SELECT 1 ${from} WHERE ${where.join(" AND ")} LIMIT ?)`, params);
  },

  wordsContaining(part: string, limit: number) {
    // The trigram tokenizer matches a quoted string of three characters or more as a substring.
    return CompiledQuery.raw(
      "SELECT word FROM search_words_trigram WHERE search_words_trigram MATCH ? ORDER BY length(word), word LIMIT ?",
      [quote(part), limit],
    );
  },


  similarWords(word: string, limit: number) {
    // The trigram tokenizer matches a quoted three-character string as one trigram.
    const match = trigramsOf(word).map(quote).join(" OR ");
    return CompiledQuery.raw(
      "SELECT search_words_trigram.word AS word FROM search_words_trigram WHERE search_words_trigram MATCH ? ORDER BY rank LIMIT ?",
      [match, limit],
    );
  },
};

/**
 * Rooms named in the MATCH itself (the `room` column) when the searcher
 * reads at most this many: FTS5 then intersects the word's list with the
 * rooms' lists, instead of stepping through every match in rooms they are
 * not in. Past it the join's filter on search_documents does it alone.
 */
export const ROOM_TOKENS_MAX = 32;

function matched(plan: SearchPlan, params: unknown[]): { from: string; where: string[] } {
  let match = ftsMatch(plan.match!);
  if (plan.roomIds.length <= ROOM_TOKENS_MAX) match = `(${match}) AND {room} : (${plan.roomIds.map((id) => quote(roomToken(id))).join(" OR ")})`;
  params.push(match);
  const where = ["search_index MATCH ?", ...filters(plan, params)];
  return { from: "FROM search_index JOIN search_documents d ON d.id = search_index.rowid", where };
}

/** The plan's filters on `search_documents d`, their values appended to `params` in order. */
function filters(plan: SearchPlan, params: unknown[]): string[] {
  const where = ["d.room_id IN (SELECT value FROM json_each(?))"];
  params.push(JSON.stringify(plan.roomIds));
  if (plan.authorIds) {
    where.push("d.author_id IN (SELECT value FROM json_each(?))");
    params.push(JSON.stringify(plan.authorIds));
  }
  if (plan.after) {
    where.push("d.created_at >= ?");
    params.push(plan.after);
  }
  if (plan.before) {
    where.push("d.created_at < ?");
    params.push(plan.before);
  }
  if (plan.hasFiles) where.push("d.has_files = 1");
  if (plan.mentionsOf) {
    where.push("EXISTS (SELECT 1 FROM message_mentions mm WHERE mm.user_id = ? AND mm.room_id = d.room_id AND mm.message_id = d.message_id)");
    params.push(plan.mentionsOf);
  }
  return where;
}

/** A match tree in FTS5's query syntax (https://sqlite.org/fts5.html#full_text_query_syntax); every token quoted. */
export function ftsMatch(node: MatchNode): string {
  switch (node.op) {
    case "phrase":
      return `{${node.stream}} : ${quote(node.terms.join(" "))}`;
    case "prefix":
      return `{${node.stream}} : ${quote(node.term)} *`;
    case "or":
      return `(${node.children.map(ftsMatch).join(" OR ")})`;
    case "and": {
      let expr = `(${node.children.map(ftsMatch).join(" AND ")})`;
      for (const excluded of node.not) expr = `(${expr} NOT ${ftsMatch(excluded)})`;
      return expr;
    }
  }
}

/** An FTS5 string: in double quotes, inner quotes doubled (tokens hold none, but nothing typed is ever syntax). */
function quote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** A room as a token of the `room` column: "r" and its id's hex digits (a token is letters and digits only). */
export function roomToken(roomId: string): string {
  return "r" + roomId.replace(/-/g, "");
}

/** Fills a gap in a stream (see the module's comment). */
const GAP = "\uE000";

/** The words, stems and grams columns' text. */
function streams(terms: IndexTerms): [string, string, string] {
  const text = (stream: readonly (string | null)[]) => stream.map((t) => t ?? GAP).join(" ");
  return [text(terms.words), text(terms.stems), text(terms.grams)];
}

/** New words into the vocabulary; known ones are skipped (`WHERE true` lets SQLite parse the upsert after a SELECT). */
function addVocabulary(words: string[]): CompiledQuery {
  return CompiledQuery.raw("INSERT INTO search_words (word) SELECT value FROM json_each(?) WHERE true ON CONFLICT (word) DO NOTHING", [JSON.stringify(words)]);
}
