import type { CompiledQuery, CreateTableBuilder, Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * What differs between SQLite and PostgreSQL, and only that. SQL that only
 * one database understands lives behind this interface (DESIGN.md), so the
 * services above it run unchanged on either.
 */
export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /**
   * The statement that serializes writers of one room inside a transaction,
   * run (as a step) before its seq is read, or null where none is needed.
   * SQLite has one writer at a time already; PostgreSQL takes the room
   * row's lock (`SELECT … FOR UPDATE`) so two nodes cannot both pass a
   * clientId check and then both take a seq.
   */
  roomLock(db: Kysely<Database>, roomId: string): CompiledQuery | null;
  /**
   * The statement that locks many rooms' rows in id order, run by the
   * group-commit writer first in a batch (RoomWriter `lockRooms`), or null.
   * Batches of two nodes that took their rooms' locks in the order their
   * works came would deadlock (PostgreSQL sees it only after
   * deadlock_timeout, 1 s, then aborts one); in one order they queue.
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
  /** True when `err` is a unique-constraint violation. */
  isUniqueViolation(err: unknown): boolean;
}
