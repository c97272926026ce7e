import { hash, verify } from "@node-rs/argon2";
import pLimit, { type LimitFunction } from "p-limit";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError } from "../errors.js";

/**
 * Password hashing with argon2id (@node-rs/argon2's default algorithm) at
 * OWASP's recommended minimum: m = 19 MiB, t = 2, p = 1 (OWASP Password
 * Storage Cheat Sheet).
 */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/** False for a wrong password or a malformed hash; never throws for either. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;
/**
 * Spends the time of one verification against a throwaway hash, so that a
 * login for an unknown user takes as long as a wrong password (OWASP
 * Authentication Cheat Sheet: no user enumeration through timing).
 */
export async function burnVerification(password: string): Promise<void> {
  dummyHash ??= hashPassword("parley-timing-equalizer");
  await verifyPassword(await dummyHash, password);
}

/** The argon2 work a PasswordHasher schedules; tests inject counting or gated fakes. */
export interface PasswordOps {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
  burn(password: string): Promise<void>;
}

/** The real argon2id operations above. */
export const argon2Ops: PasswordOps = { hash: hashPassword, verify: verifyPassword, burn: burnVerification };

/** Seconds a caller refused by a full hash queue is told to wait: slots free within tens of ms. */
export const HASH_QUEUE_RETRY_AFTER_S = 1;

/**
 * Runs every password hash, verification and timing-equalizer burn under
 * one concurrency cap (p-limit) with a bounded wait queue. argon2 runs on
 * libuv's thread pool (4 threads by default), the same pool that runs the
 * WAL fsync every message ack waits for: uncapped, a login flood fills
 * the pool and sends wait behind it (issue 8). Past the queue a caller is
 * refused at once rather than held, so waiting memory is bounded too
 * (DESIGN.md invariant 7).
 */
export class PasswordHasher {
  private readonly limit: LimitFunction;
  /** Admitted and not finished: running plus waiting. Counted here, not by p-limit's pendingCount, which lags a microtask. */
  private admitted = 0;

  /**
   * @param opts.concurrency argon2 operations at once (≥ 1): `passwordHashConcurrency`
   * @param opts.queue operations that may wait for a slot (≥ 0): `passwordHashQueue`
   */
  constructor(
    private readonly opts: { concurrency: number; queue: number },
    private readonly ops: PasswordOps = argon2Ops,
  ) {
    this.limit = pLimit(opts.concurrency);
  }

  /** Operations running now. */
  get active(): number {
    return this.limit.activeCount;
  }

  /** Operations admitted and not yet running (for a microtask after admission, a free slot's too). */
  get waiting(): number {
    return Math.max(0, this.admitted - this.limit.activeCount);
  }

  /** argon2id hash of a new password. @throws AppError rate_limited when the queue is full */
  hash(password: string): Promise<string> {
    return this.run(() => this.ops.hash(password));
  }

  /** True for the right password. @throws AppError rate_limited when the queue is full */
  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.run(() => this.ops.verify(passwordHash, password));
  }

  /** The time of one verification, for an unknown user. @throws AppError rate_limited when the queue is full */
  burn(password: string): Promise<void> {
    return this.run(() => this.ops.burn(password));
  }

  /**
   * Runs `work` in a slot, after waiting for one if all are busy.
   * @throws AppError rate_limited (Retry-After 1 s) when `concurrency + queue` are already admitted; `work` is then not run
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    // Checked and counted before the first await, so concurrent callers cannot both take the last place.
    if (this.admitted >= this.opts.concurrency + this.opts.queue) {
      throw new AppError(ErrorCode.RateLimited, "The server is busy checking passwords; try again shortly.", {
        retryAfter: HASH_QUEUE_RETRY_AFTER_S,
      });
    }
    this.admitted++;
    try {
      return await this.limit(work);
    } finally {
      this.admitted--;
    }
  }
}

let common: Promise<Set<string>> | undefined;
/**
 * True for a password found in zxcvbn-ts's list of ~49,000 common
 * passwords (case-insensitive), as NIST SP 800-63B §5.1.1.2 asks. The list
 * is loaded at the first call: decompressing it cost start-up time.
 */
export async function isCommonPassword(password: string): Promise<boolean> {
  common ??= import("@zxcvbn-ts/language-common").then(
    ({ dictionary }) => new Set(dictionary["passwords-common"].map((p) => String(p).toLowerCase())),
  );
  return (await common).has(password.toLowerCase());
}
