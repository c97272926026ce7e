/**
 * Limits shared by the server, the web client and the tests, so that a
 * client can refuse bad input before sending it and say the same thing the
 * server would.
 */

/** Longest message body, in characters (UTF-16 code units) after trimming. */
export const MAX_BODY_CHARS = 4_000;
/** Largest WebSocket text frame either side may send, in bytes (contract v1). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Username: 3 to 32 of a-z 0-9 _ . - ; uniqueness ignores case. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
export const MIN_PASSWORD_CHARS = 8;
/** Longer passwords only cost hashing time; 256 chars is more than any manager generates. */
export const MAX_PASSWORD_CHARS = 256;
export const MAX_ROOM_NAME_CHARS = 80;
export const MAX_TOPIC_CHARS = 250;
export const MAX_DISPLAY_NAME_CHARS = 64;
/** A client's correlation id for a command, or a message's clientId. */
export const MAX_CLIENT_ID_CHARS = 64;
/** History page size (contract v1: limit ≤ 100, default 50). */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;
/**
 * The largest seq a room can reach: the seq columns are 32-bit integers on
 * both databases. A seq named by a client past it is refused as invalid.
 */
export const MAX_SEQ = 2_147_483_647;
