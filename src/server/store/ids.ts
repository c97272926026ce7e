import { v7 as uuidv7 } from "uuid";

/**
 * A new opaque id: a UUID v7 (RFC 9562), time-ordered, so rows inserted
 * together land at the right edge of their id index instead of on a random
 * page each (every page a commit touches is written whole to the WAL).
 * Clients must not parse it.
 */
export const newId = (): string => uuidv7();

/** Now as an ISO 8601 UTC string, the stored form of every time. */
export const nowIso = (): string => new Date().toISOString();
