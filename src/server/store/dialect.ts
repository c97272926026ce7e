import type { CompiledQuery, CreateTableBuilder, Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { SearchDialect } from "../search/dialect.js";

/**
 * What differs between SQLite and PostgreSQL, and only that. SQL that only
 * one database understands lives behind this interface (DESIGN.md), so the
 * services above it run unchanged on either.
 */
export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /**
   * The statement that serializes writers of rooms: run by the group-commit
   * writer first in each batch's transaction with the rooms its works named
   * (RoomWriter.submitRoomSteps), or null where none is needed. SQLite has
   * one writer at a time already; PostgreSQL locks the rooms' rows
   * (`SELECT … ORDER BY id FOR UPDATE`), so two nodes cannot both pass a
   * clientId check or a member count and then both write, and, taking the
   * locks in id order, two nodes' batches queue instead of deadlocking
   * (PostgreSQL would see a deadlock only after deadlock_timeout, 1 s).
   */
  roomsLock(db: Kysely<Database>, roomIds: string[]): CompiledQuery | null;
  /**
   * Resolves when everything committed before the call would survive a
   * power cut. Acks wait for it (DESIGN.md invariant 3).
   */
  durable(): Promise<void>;
  /**
   * Called by the group-commit writer before each batch, with no write
   * transaction open. Returns a promise when writes must wait a moment
   * (SQLite: the tail of a WAL checkpoint, so that the WAL can restart
   * instead of growing), else null, which costs nothing.
   */
  beforeCommit(): Promise<void> | null;
  /**
   * Stores a table in primary-key order where the database can (SQLite:
   * WITHOUT ROWID; PostgreSQL: tables are heaps, nothing to do). Used by
   * migration 0001 only; 0002 measured it costlier for messages and events
   * and went back to insertion order.
   */
  clusterByPrimaryKey<T extends string, C extends string>(table: CreateTableBuilder<T, C>): CreateTableBuilder<T, C>;
  /** The message search index's SQL (issue 18): FTS5 on SQLite, tsvector + GIN + pg_trgm on PostgreSQL. */
  readonly search: SearchDialect;
  /** True when `err` is a unique-constraint violation. */
  isUniqueViolation(err: unknown): boolean;
}
