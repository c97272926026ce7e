import { randomUUID } from "node:crypto";

/** A new opaque id (a random UUID v4); clients must not parse it. */
export const newId = (): string => randomUUID();

/** Now as an ISO 8601 UTC string, the stored form of every time. */
export const nowIso = (): string => new Date().toISOString();
