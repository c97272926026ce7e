import { hash, verify } from "@node-rs/argon2";

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
