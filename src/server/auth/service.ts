import type { Deps, Actor } from "../deps.js";
import { AppError } from "../errors.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import type { LoginRequest, SignupRequest } from "@shared/protocol/http.js";
import type { Self } from "@shared/protocol/entities.js";
import { newId, nowIso } from "../store/ids.js";
import { toSelf, getSelf } from "../users/users.js";
import { isCommonPassword, PasswordHasher } from "./passwords.js";
import {
  createApiToken,
  createSession,
  deleteSession,
  findApiToken,
  findSession,
  secretsEqual,
} from "./credentials.js";

/** A new login: the cookie's secret and the CSRF token that goes with it. */
export interface NewSession {
  user: Self;
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

/**
 * Counts one login attempt against an account's budget before its password
 * is checked; throws AppError rate_limited past it. `accountKey` is
 * `account:<id>` for a known account, whether named by username or email,
 * and `name:<lowercased name>` for an unknown one.
 */
export type LoginThrottle = (accountKey: string) => Promise<void>;

/**
 * Accounts and credentials: signup, login, logout, API tokens, and turning
 * a cookie or Bearer secret into an Actor (DESIGN.md invariant 1).
 */
export class AuthService {
  /** Every argon2 operation of this node goes through it (passwordHashConcurrency, passwordHashQueue). */
  readonly passwords: PasswordHasher;

  /** `passwords` defaults to argon2id under the configured cap; tests inject a counting one. */
  constructor(
    private readonly deps: Deps,
    passwords?: PasswordHasher,
  ) {
    this.passwords =
      passwords ?? new PasswordHasher({ concurrency: deps.config.passwordHashConcurrency, queue: deps.config.passwordHashQueue });
  }

  private get db() {
    return this.deps.store.db;
  }

  /**
   * Creates an account and logs it in. A taken username or email costs the
   * same argon2 hash and fsync wait as a new account, so its answer's time
   * does not tell whether an email has an account (OWASP Authentication
   * Cheat Sheet, "Account creation"); the route limits signups per address.
   * @throws AppError validation_failed (common password), username_taken, email_taken,
   *   rate_limited (password hash queue full; nothing is written)
   */
  async signup(input: SignupRequest): Promise<NewSession> {
    if (await isCommonPassword(input.password)) {
      throw new AppError(ErrorCode.ValidationFailed, "That password is too common; choose another.", {
        details: [{ path: "body.password", message: "This password is on a list of common passwords." }],
      });
    }
    const usernameKey = input.username.toLowerCase();
    const emailKey = input.email.toLowerCase();
    // Hash first, whatever the outcome: answering a taken email before hashing took ~5 ms against ~45 ms (issue 8).
    const passwordHash = await this.passwords.hash(input.password);
    const taken = await this.takenError(usernameKey, emailKey);
    if (taken) {
      // A new account waits for one fsync below; wait for one too, so that is no tell either.
      await this.deps.store.dialect.durable();
      throw taken;
    }
    const row = {
      id: newId(),
      username: input.username,
      username_key: usernameKey,
      email: input.email,
      email_key: emailKey,
      display_name: input.displayName ?? input.username,
      password_hash: passwordHash,
      created_at: nowIso(),
    };
    try {
      await this.db.insertInto("users").values(row).execute();
    } catch (err) {
      // Two signups raced past takenError: say which name was taken.
      const raced = this.deps.store.dialect.isUniqueViolation(err) ? await this.takenError(usernameKey, emailKey) : null;
      throw raced ?? err;
    }
    const session = await createSession(this.db, row.id, this.deps.config.sessionTtlMs);
    // An account the user was told exists must survive a power cut too.
    await this.deps.store.dialect.durable();
    return { user: toSelf(row), ...session };
  }

  /** username_taken or email_taken (usernames first: they are public anyway), or null when both are free. */
  private async takenError(usernameKey: string, emailKey: string): Promise<AppError | null> {
    const taken = await this.db
      .selectFrom("users")
      .select(["username_key", "email_key"])
      .where((eb) => eb.or([eb("username_key", "=", usernameKey), eb("email_key", "=", emailKey)]))
      .execute();
    if (taken.some((t) => t.username_key === usernameKey)) {
      return new AppError(ErrorCode.UsernameTaken, "That username is taken.", {
        details: [{ path: "body.username", message: "That username is taken." }],
      });
    }
    if (taken.length > 0) {
      return new AppError(ErrorCode.EmailTaken, "An account with that email exists.", {
        details: [{ path: "body.email", message: "An account with that email exists." }],
      });
    }
    return null;
  }

  /**
   * Logs in by username or email. Unknown user and wrong password answer
   * the same, in the same time (OWASP Authentication Cheat Sheet).
   * `throttle` counts the attempt against the account's budget once the
   * name is resolved, before any argon2 work.
   * @throws AppError unauthenticated; rate_limited (from `throttle`, or the password hash queue is full)
   */
  async login(input: LoginRequest, opts: { throttle?: LoginThrottle } = {}): Promise<NewSession> {
    const key = input.username.toLowerCase();
    const row = await this.db
      .selectFrom("users")
      .selectAll()
      .where((eb) => eb.or([eb("username_key", "=", key), eb("email_key", "=", key)]))
      .executeTakeFirst();
    // One budget per account however it is named, else each spelling (username, email) would add its own.
    await opts.throttle?.(row ? `account:${row.id}` : `name:${key}`);
    const ok = row ? await this.passwords.verify(row.password_hash, input.password) : (await this.passwords.burn(input.password), false);
    if (!row || !ok) throw new AppError(ErrorCode.Unauthenticated, "Wrong username or password.");
    const session = await createSession(this.db, row.id, this.deps.config.sessionTtlMs);
    return { user: toSelf(row), ...session };
  }

  /** Ends the session (a token-authenticated caller has none to end) and closes its sockets. */
  async logout(actor: Actor): Promise<void> {
    if (actor.via !== "session") return;
    await deleteSession(this.db, actor.credentialHash);
    this.deps.bus.publish({ kind: "credential.ended", userId: actor.userId, credentialHash: actor.credentialHash });
  }

  async me(actor: Actor): Promise<Self> {
    return getSelf(this.db, actor.userId);
  }

  /** A personal API token for scripts and bots; the secret is shown once. */
  async createToken(actor: Actor, name: string): Promise<{ id: string; token: string }> {
    return createApiToken(this.db, actor.userId, name);
  }

  /**
   * The actor behind a request's credentials: a Bearer token wins over a
   * cookie when both are sent. Null when neither is valid.
   */
  async identify(creds: { bearer?: string | undefined; sessionToken?: string | undefined }): Promise<Actor | null> {
    if (creds.bearer !== undefined) {
      const token = await findApiToken(this.db, creds.bearer);
      return token ? { userId: token.userId, via: "token", credentialHash: token.tokenHash, csrfToken: null, expiresAt: null } : null;
    }
    if (creds.sessionToken !== undefined) {
      const session = await findSession(this.db, creds.sessionToken);
      return session
        ? { userId: session.userId, via: "session", credentialHash: session.tokenHash, csrfToken: session.csrfToken, expiresAt: session.expiresAt }
        : null;
    }
    return null;
  }

  /** True when a cookie-authenticated change carries the session's CSRF token. */
  csrfValid(actor: Actor, header: string | undefined): boolean {
    if (actor.via !== "session") return true;
    return header !== undefined && actor.csrfToken !== null && secretsEqual(header, actor.csrfToken);
  }
}
