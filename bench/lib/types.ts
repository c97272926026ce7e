/**
 * Shapes shared by the coordinator, the targets and the load-generator
 * workers (which talk over Node's IPC channel, so everything here is JSON).
 */

export type TargetName = "parley" | "ws" | "socketio" | "parley-2n" | "socketio-2n";
export const TARGET_NAMES: readonly TargetName[] = ["parley", "ws", "socketio", "parley-2n", "socketio-2n"];
/**
 * What runs without --target. The two-node targets (issue 11) need
 * PostgreSQL, Redis and nginx on this machine and run only when named.
 */
export const DEFAULT_TARGETS: readonly TargetName[] = ["parley", "ws", "socketio"];

/** The wire protocol a load-generator client speaks. */
export type Protocol = "parley" | "relay" | "socketio";

/** One simulated client: where it connects, as whom, and the room it sends to. */
export interface ClientSpec {
  /** Global index of the client in the scenario (0..n-1). */
  index: number;
  /** Full WebSocket URL (for socket.io: the engine.io URL). */
  url: string;
  /** Upgrade request headers (Parley: Authorization: Bearer). */
  headers?: Record<string, string>;
  /** socket.io: the `auth` payload of the namespace CONNECT packet. */
  auth?: Record<string, string>;
  /** The room this client sends to and receives from. */
  roomId: string;
  /** Members of that room, all of them connected clients of the scenario. */
  roomSize: number;
  /** This client's position in its room (0..roomSize-1), carried in every body it sends. */
  slot: number;
}

// ---- coordinator → worker ----

export type ToWorker =
  | { type: "init"; protocol: Protocol; clients: ClientSpec[]; connectConcurrency: number }
  /** Opens clients [opened, upTo) of this worker's list and waits for each to be ready. */
  | { type: "connect"; upTo: number }
  /**
   * Starts a measured step: from `startAtUs` (monotonic clock), send at
   * `sendsPerSecond` for `durationMs`, round-robin over this worker's clients.
   */
  | { type: "step"; step: number; startAtUs: number; durationMs: number; sendsPerSecond: number }
  | { type: "poll" }
  | { type: "collect" }
  | { type: "close" };

// ---- worker → coordinator ----

export interface ConnectReport {
  type: "connected";
  opened: number;
  failed: number;
  firstError: string | null;
  /** Encoded histogram of connect-to-ready times (µs) of this batch. */
  connectHist: string;
  ms: number;
}

export interface SentReport {
  type: "sent";
  step: number;
  /** Sends written to sockets. */
  sends: number;
  /** Sends planned by the schedule but skipped because the client's socket was closed. */
  skipped: number;
  /** Deliveries those sends should produce: Σ (roomSize − 1). */
  expected: number;
  /** CPU time (user + system) of this worker during the send window, µs, and the window's length. */
  cpuUs: number;
  wallUs: number;
}

export interface PollReport {
  type: "poll";
  delivered: number;
  acks: number;
  errors: number;
}

/** What a step counts, per worker and summed over the workers. */
export interface StepCounts {
  sends: number;
  skipped: number;
  expected: number;
  /** Deliveries of this step's messages to clients other than the sender. */
  delivered: number;
  /** The sender's own copy (Parley, the relay and socket.io all echo to the sender): counted apart, not a delivery. */
  echoes: number;
  /** Deliveries that arrived out of order or twice (per sender, per receiver). */
  duplicates: number;
  /** Deliveries of an earlier step's messages that arrived during this one. */
  late: number;
  acks: number;
  errors: number;
  errorCodes: Record<string, number>;
  /** Sockets closed by the server during the step, by close code. */
  closes: Record<string, number>;
}

export interface StepReport extends StepCounts {
  type: "stats";
  step: number;
  /** Delivery latency from the scheduled send time (µs). */
  latencyHist: string;
  /** Ack latency from the scheduled send time (µs). */
  ackHist: string;
  /** How late the sender actually wrote each send after its scheduled time (µs). */
  lagHist: string;
  /** CPU time (user + system) of this worker since the step's start, µs. */
  cpuUs: number;
  wallUs: number;
}

export type FromWorker = ConnectReport | SentReport | PollReport | StepReport | { type: "ready" } | { type: "fatal"; message: string };
