import type { Deps } from "../deps.js";
import { PeriodicJob } from "../periodic.js";

/**
 * Removes the stored files nothing needs any more (issue 17, item 2), every
 * `fileSweepIntervalMs`, on one node: a node alone, or the cluster's leader
 * (bus/nodes.ts; while a node has not yet heard its peers it takes itself
 * for the leader, so two nodes may sweep at once for a beat: every step is
 * idempotent, so that costs nothing but the work).
 *
 * What goes, in this order:
 * 1. pending uploads older than `pendingUploadTtlMs` (never sent): marked
 *    `deleted` in one statement, then removed as in 2;
 * 2. `deleted` uploads (their message was deleted and the removal after
 *    that commit failed, or 1.): objects first, then rows, so that a row
 *    left by a failure still names what to remove next time;
 * 3. stored objects that no `uploads` row names and that are older than
 *    `pendingUploadTtlMs` (a crash between an upload's put and its row, or
 *    a row deleted without its objects). The age spares an upload whose
 *    object is stored and whose row is about to be.
 */

/** What one sweep removed. */
export interface SweepCounts {
  /** Pending uploads past their time, marked deleted (and counted in `removed` once gone). */
  expired: number;
  /** Deleted uploads whose objects and rows were removed. */
  removed: number;
  /** Stored objects no upload named, removed. */
  orphans: number;
}

/** An upload's stored objects: what must leave the file storage before its row may. */
export interface UploadObjects {
  id: string;
  /** The file as served. */
  storageKey: string;
  /** Images: the thumbnail's key. */
  thumbnailKey: string | null;
}

/** Rows and keys handled per query: bounded memory and statement size, whatever the backlog. */
const BATCH = 500;

type SweeperDeps = Pick<Deps, "config" | "store" | "files" | "log" | "cluster">;

/**
 * The one way a deleted upload leaves: its objects are removed from the file
 * storage, then its row (only while it is still `deleted`).
 * @throws whatever the storage or the database throws; the rows stay and the sweeper tries again
 */
export async function removeUploads(deps: Pick<Deps, "files" | "store">, uploads: readonly UploadObjects[]): Promise<void> {
  if (uploads.length === 0) return;
  await deps.files.delete(uploads.flatMap((u) => (u.thumbnailKey === null ? [u.storageKey] : [u.storageKey, u.thumbnailKey])));
  await deps.store.db
    .deleteFrom("uploads")
    .where("id", "in", uploads.map((u) => u.id))
    .where("state", "=", "deleted")
    .execute();
}

/** The upload id a storage key names (files' keys are `<id[0..2]>/<id>` and `<id[0..2]>/<id>.thumb`). */
const uploadIdOf = (key: string): string => (key.split("/").pop() ?? key).replace(/\.thumb$/, "");

/** The periodic sweep of a node: `start` after listen, `stop` before the store closes. */
export class FileSweeper {
  private readonly job: PeriodicJob;

  constructor(private readonly deps: SweeperDeps) {
    this.job = new PeriodicJob(() => this.sweep(), deps.config.fileSweepIntervalMs, deps.log, "file sweep failed; what is left is retried at the next one");
  }

  /** Sweeps every `fileSweepIntervalMs` from now on (the first after one interval). */
  start(): void {
    this.job.start();
  }

  /** No further sweep starts; resolves once the one under way (if any) has ended. */
  stop(): Promise<void> {
    return this.job.stop();
  }

  /**
   * One sweep, now; logs one info line when it removed anything.
   * @param now the clock (epoch ms) ages are measured against
   * @returns what was removed; null when another node sweeps (this one is not the cluster's leader)
   * @throws when the storage or the database fails (what is left stays for the next sweep)
   */
  async sweep(now = Date.now()): Promise<SweepCounts | null> {
    if (this.deps.cluster && !this.deps.cluster.isLeader()) return null;
    const cutoff = now - this.deps.config.pendingUploadTtlMs;
    const expired = await this.expirePending(new Date(cutoff).toISOString(), new Date(now).toISOString());
    const removed = await this.removeDeleted();
    const orphans = await this.removeOrphans(cutoff);
    if (removed + orphans > 0) {
      this.deps.log.info({ expired, removed, orphans }, `file sweep: removed ${removed} deleted or expired uploads and ${orphans} files no upload named`);
    }
    return { expired, removed, orphans };
  }

  /**
   * Pending uploads created before `cutoff` become `deleted`, in one
   * statement: from its commit a send naming one is refused, and a send that
   * read one as pending just before fails its guarded update and is run
   * again alone (messages/attachments.ts `attachUploads`).
   */
  private async expirePending(cutoff: string, at: string): Promise<number> {
    const expired = await this.deps.store.db
      .updateTable("uploads")
      .set({ state: "deleted", deleted_at: at })
      .where("state", "=", "pending")
      .where("created_at", "<", cutoff)
      .executeTakeFirst();
    // A count, not the ids: the backlog may be large, and memory stays bounded whatever it is.
    return Number(expired.numUpdatedRows);
  }

  private async removeDeleted(): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = await this.deps.store.db
        .selectFrom("uploads")
        .select(["id", "storage_key", "thumbnail_key"])
        .where("state", "=", "deleted")
        .limit(BATCH)
        .execute();
      // A failure throws out of the loop: the same rows would come back forever.
      await removeUploads(this.deps, batch.map((r) => ({ id: r.id, storageKey: r.storage_key, thumbnailKey: r.thumbnail_key })));
      removed += batch.length;
      if (batch.length < BATCH) return removed;
    }
  }

  /** Walks the storage; objects older than `cutoff` (epoch ms) that no row names are removed, a batch at a time. */
  private async removeOrphans(cutoff: number): Promise<number> {
    let removed = 0;
    let candidates: string[] = [];
    const flush = async (): Promise<void> => {
      const keys = candidates;
      candidates = [];
      if (keys.length === 0) return;
      // By the primary key: the id is in the key. A row names the key only if it is one of its own two keys.
      const named = await this.deps.store.db
        .selectFrom("uploads")
        .select(["storage_key", "thumbnail_key"])
        .where("id", "in", [...new Set(keys.map(uploadIdOf))])
        .execute();
      const kept = new Set(named.flatMap((r) => (r.thumbnail_key === null ? [r.storage_key] : [r.storage_key, r.thumbnail_key])));
      const orphans = keys.filter((k) => !kept.has(k));
      if (orphans.length > 0) await this.deps.files.delete(orphans);
      removed += orphans.length;
    };
    for await (const { key, modifiedAt } of this.deps.files.list()) {
      if (modifiedAt.getTime() >= cutoff) continue;
      candidates.push(key);
      if (candidates.length >= BATCH) await flush();
    }
    await flush();
    return removed;
  }
}
