import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RateLimitOptions } from "@fastify/rate-limit";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError } from "../errors.js";
import type { Config } from "../config.js";
import type { LoginThrottle } from "./service.js";
import { addressKey } from "../http/client-address.js";

/**
 * The HTTP rate limits of login and signup (issue 8), on @fastify/rate-limit's
 * store (fixed windows): in memory on one node, in Redis (shared by every
 * node) with --redis-url; a Redis outage lets requests through unthrottled. Every refusal is contract v1's
 * 429 `rate_limited` with Retry-After in seconds.
 *
 * - per address, on login and signup: counted in `onRequest`, before the body
 *   is even parsed, so a flood of fresh names from one address is cut before
 *   any database lookup or argon2 work;
 * - per account, on login: counted once the name is resolved to the account,
 *   so its username and its email share one budget (OWASP Authentication
 *   Cheat Sheet: throttle per account as well as per source).
 *
 * The address is `request.ip`: the peer, or the X-Forwarded-For hop that a
 * proxy listed in `trustProxy` vouches for (Fastify/proxy-addr), keyed by
 * `addressKey`.
 */

/** Keys the account limiter remembers; an LRU past it forgets the oldest (~100 bytes each). */
const ACCOUNT_KEYS_CACHED = 50_000;

/**
 * Route rate-limit options whose refusal is contract v1's 429
 * `rate_limited` with `message` and Retry-After in seconds; `more` sets the
 * key, hook or cache. Shared by the per-address limits here and the
 * per-user ones (rooms/rate-limits.ts).
 */
export function rateLimitOptions(max: number, timeWindowMs: number, message: string, more: RateLimitOptions): RateLimitOptions {
  return {
    max,
    timeWindow: timeWindowMs,
    errorResponseBuilder: (_request, context) =>
      new AppError(ErrorCode.RateLimited, message, { retryAfter: Math.ceil(context.ttl / 1000) }),
    ...more,
  };
}

const perAddress = (max: number, timeWindowMs: number, message: string): RateLimitOptions =>
  rateLimitOptions(max, timeWindowMs, message, { hook: "onRequest", keyGenerator: (request) => addressKey(request.ip) });

/** Route `config.rateLimit` of POST /auth/login: `loginAttemptsPerMinutePerAddress` per client address. */
export const loginAddressLimit = (config: Config): RateLimitOptions =>
  perAddress(config.loginAttemptsPerMinutePerAddress, 60_000, "Too many login attempts from your address; try again later.");

/** Route `config.rateLimit` of POST /auth/signup: `signupsPerHourPerAddress` per client address. */
export const signupAddressLimit = (config: Config): RateLimitOptions =>
  perAddress(config.signupsPerHourPerAddress, 3_600_000, "Too many sign-ups from your address; try again later.");

/**
 * The per-account login budget, `loginAttemptsPerMinute` per minute, built
 * on `app.createRateLimit` (the plugin must be registered). Returns a
 * LoginThrottle for one request; `AuthService.login` calls it with the
 * resolved account key. Every attempt counts, right password included, in
 * fixed one-minute windows.
 * The throttle throws AppError rate_limited (retryAfter: seconds left in the
 * window) past the budget.
 */
export function accountLoginLimit(
  app: Pick<FastifyInstance, "createRateLimit">,
  config: Config,
): (request: FastifyRequest) => LoginThrottle {
  // createRateLimit keys by request; the account key is known only after the lookup, so it is handed over here.
  const keys = new WeakMap<FastifyRequest, string>();
  // `cache` is honoured by the store (LocalStore.child) though missing from CreateRateLimitOptions' type.
  const options: Parameters<FastifyInstance["createRateLimit"]>[0] & { cache: number } = {
    max: config.loginAttemptsPerMinute,
    timeWindow: 60_000,
    // Prefixed: in Redis (many nodes) this limiter's keys share a namespace with the per-user ones.
    keyGenerator: (request) => `login-account:${keys.get(request) ?? `address:${addressKey(request.ip)}`}`,
    cache: ACCOUNT_KEYS_CACHED,
  };
  const check = app.createRateLimit(options);
  return (request) => async (accountKey) => {
    keys.set(request, accountKey);
    const verdict = await check(request);
    if (!verdict.isAllowed && verdict.isExceeded) {
      // The same words whether the name is an account or not: this answer must not tell.
      throw new AppError(ErrorCode.RateLimited, "Too many login attempts for this name; try again later.", {
        retryAfter: verdict.ttlInSeconds,
      });
    }
  };
}
