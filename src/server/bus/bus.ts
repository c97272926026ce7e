/**
 * Fan-out between the services that change things and the sockets that
 * must hear of it. Every event goes through a bus, even on one node, so the
 * single-node and many-node paths are the same code (DESIGN.md). Frames are
 * serialized once by the publisher (invariant 8); the bus never parses them.
 */

/** What every envelope may carry: set by the Redis bus on those that came from another node. */
export interface EnvelopeOrigin {
  /** The publishing node's id; absent when published on this node. */
  from?: string;
}

/** A seq-stamped room event, bound for every socket of every member. */
export interface RoomEnvelope extends EnvelopeOrigin {
  kind: "room";
  roomId: string;
  seq: number;
  /** The event frame as JSON text, sent as is to each socket. */
  frame: string;
  /** Users whose sockets start receiving this room with this event (they joined). */
  addUserIds?: string[];
  /** Users whose sockets stop receiving this room after this event (they left). */
  removeUserIds?: string[];
  /**
   * performance.now() (ms, this process's clock) when the writer committed
   * the event, for the fan-out latency metric; set by the publishing node
   * only, meaningless on another.
   */
  committedAt?: number;
}

/** An ephemeral frame for every socket of one user (no seq). */
export interface UserEnvelope extends EnvelopeOrigin {
  kind: "user";
  userId: string;
  frame: string;
}

/** A session or API token ended: close the sockets it authenticated (4401). */
export interface CredentialEndedEnvelope extends EnvelopeOrigin {
  kind: "credential.ended";
  userId: string;
  /** The SHA-256 of the session or token that ended. */
  credentialHash: string;
}

/**
 * An ephemeral frame (no seq: typing) for the sockets subscribed to a room,
 * except those of `exceptUserId` (the typist). Never stored, never replayed.
 */
export interface RoomEphemeralEnvelope extends EnvelopeOrigin {
  kind: "room.ephemeral";
  roomId: string;
  frame: string;
  exceptUserId?: string;
  /** Set on typing signals: lets other nodes stop a typist whose node died (presence/typing.ts). */
  typing?: { userId: string; state: "start" | "stop" };
}

/**
 * An ephemeral frame (no seq: presence) for every socket of each of many
 * users: one envelope, framed once by the gateway, however many recipients.
 */
export interface UsersEnvelope extends EnvelopeOrigin {
  kind: "users";
  userIds: string[];
  frame: string;
}

/**
 * Between nodes only (no socket sees it): how present users are on the
 * publishing node, each aggregated over its sockets there (null: none
 * left), and what was last announced to users' co-members (presence/cluster.ts).
 */
export interface PresenceGossipEnvelope extends EnvelopeOrigin {
  kind: "presence.gossip";
  node: string;
  activity?: { userId: string; activity: "active" | "idle" | null }[];
  announced?: { userId: string; status: "online" | "away" | "offline"; at: number }[];
}

/**
 * Between nodes only: a node's heartbeat (`hello` when it starts or its bus
 * came back: the others answer with their presence), or its goodbye
 * (`down`: graceful shutdown). bus/nodes.ts.
 */
export interface NodeBeatEnvelope extends EnvelopeOrigin {
  kind: "node.beat";
  node: string;
  state: "hello" | "alive" | "down";
}

export type BusEnvelope =
  | RoomEnvelope
  | UserEnvelope
  | CredentialEndedEnvelope
  | RoomEphemeralEnvelope
  | UsersEnvelope
  | PresenceGossipEnvelope
  | NodeBeatEnvelope;

export interface Bus {
  /** Delivers to every subscriber on every node, in publish order per publisher. */
  publish(envelope: BusEnvelope): void;
  /** Delivers to this node's subscribers only (a node's own conclusions about another node: presence/typing-cluster.ts). */
  deliverLocally(envelope: BusEnvelope): void;
  /** Returns the unsubscribe function. */
  subscribe(handler: (envelope: BusEnvelope) => void): () => void;
  close(): Promise<void>;
}
