/**
 * Ephemeral chat state: who is typing in which room, and everyone's
 * presence. Kept apart from the seq-ordered chat store because none of it is
 * stored or replayed: a new socket's `ready` replaces it whole. Free of React
 * and the DOM; shaped for useSyncExternalStore.
 */
import type { Presence, PresenceUpdatedEvent, TypingUpdatedEvent } from "@shared/protocol/index.js";

export interface EphemeralState {
  /** By user id; a user absent here is offline (last seen unknown). */
  readonly presence: Readonly<Record<string, Presence>>;
  /** By room id: the user ids typing there now, in the order they started. */
  readonly typing: Readonly<Record<string, readonly string[]>>;
}

export const EMPTY_EPHEMERAL: EphemeralState = { presence: {}, typing: {} };

/** What a user counts as when nothing is known: offline, last seen unknown. */
export const OFFLINE: Presence = { status: "offline", lastSeenAt: null };

/** The pure transition for one event. */
export function applyEphemeral(state: EphemeralState, event: TypingUpdatedEvent | PresenceUpdatedEvent): EphemeralState {
  if (event.type === "presence.updated") {
    return { ...state, presence: { ...state.presence, [event.userId]: { status: event.status, lastSeenAt: event.lastSeenAt } } };
  }
  const now = state.typing[event.roomId] ?? [];
  const has = now.includes(event.userId);
  if (event.state === "start" ? has : !has) return state;
  const next = event.state === "start" ? [...now, event.userId] : now.filter((id) => id !== event.userId);
  return { ...state, typing: { ...state.typing, [event.roomId]: next } };
}

export class EphemeralStore {
  private state: EphemeralState = EMPTY_EPHEMERAL;
  private readonly listeners = new Set<() => void>();

  getState = (): EphemeralState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** A new socket is ready: its presence map replaces what was known; typing starts over (stops may have been missed). */
  reset(presence: Readonly<Record<string, Presence>> = {}): void {
    this.set({ presence, typing: {} });
  }

  /** Presence answered for some users (presence.get), over what was known. */
  merge(presence: Readonly<Record<string, Presence>>): void {
    if (Object.keys(presence).length > 0) this.set({ ...this.state, presence: { ...this.state.presence, ...presence } });
  }

  apply(event: TypingUpdatedEvent | PresenceUpdatedEvent): void {
    this.set(applyEphemeral(this.state, event));
  }

  /** Someone's message arrived: they are no longer typing it (their stop may come later). */
  clearTyping(roomId: string, userId: string): void {
    this.apply({ type: "typing.updated", roomId, userId, state: "stop" });
  }

  private set(next: EphemeralState): void {
    if (next === this.state) return;
    this.state = next;
    for (const l of [...this.listeners]) l();
  }
}

/**
 * The typing line for a room: "alice is typing…", "alice and bob are
 * typing…", "several people are typing…"; "" when nobody is.
 */
export function typingSentence(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "several people are typing…";
}

/** The accessible text of a presence dot: "online", "away", "offline, last seen …". */
export function presenceLabel(p: Presence, now: Date = new Date()): string {
  if (p.status !== "offline") return p.status === "online" ? "online" : "away";
  if (!p.lastSeenAt) return "offline";
  return `offline, last seen ${relativeTime(new Date(p.lastSeenAt), now)}`;
}

function relativeTime(then: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (s < 60) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  return then.toLocaleDateString();
}
