import { randomFillSync } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/** Ids drawn per refill of the random pool. */
const POOL_IDS = 256;
const pool = new Uint8Array(16 * POOL_IDS);
let drawn = POOL_IDS;

/**
 * 16 random bytes from a pool refilled 4 KiB at a time: `uuid` asks the
 * CSPRNG for 16 bytes per id, which was 3 % of the server's CPU on the DM
 * benchmark. Each slice is used once.
 */
function randomBytes16(): Uint8Array {
  if (drawn === POOL_IDS) {
    randomFillSync(pool);
    drawn = 0;
  }
  return pool.subarray(16 * drawn, 16 * ++drawn);
}

/**
 * A new opaque id: a UUID v7 (RFC 9562), time-ordered to the millisecond,
 * so rows inserted together land at the right edge of their id index
 * instead of on a random page each (every page a commit touches is written
 * whole to the WAL). Ids made in the same millisecond are in no particular
 * order. Clients must not parse it.
 */
export const newId = (): string => uuidv7({ random: randomBytes16() });

/** Now as an ISO 8601 UTC string, the stored form of every time. */
export const nowIso = (): string => new Date().toISOString();
