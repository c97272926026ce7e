/**
 * What the load generator writes and reads on the wire, per protocol, kept
 * to the minimum: a send is one template string; a received frame is
 * classified by its first bytes and only the numbers the harness needs are
 * read out of the bytes (no JSON.parse, no string for deliveries).
 *
 * Every body is exactly 64 characters: `~<step>.<sendTimeUs>.<slot>.<n>.`
 * padded with `x`. `sendTimeUs` is the scheduled send time on the monotonic
 * clock (shared by every process of the machine), `slot` the sender's
 * position in its room and `n` the sender's own counter, which makes the
 * body unique per sender and lets a receiver notice duplicates.
 */

import type { Protocol } from "../lib/types.js";

export const BODY_CHARS = 64;

export function makeBody(step: number, tsUs: number, slot: number, n: number): string {
  const head = `~${step}.${Math.floor(tsUs)}.${slot}.${n}.`;
  return head.length >= BODY_CHARS ? head.slice(0, BODY_CHARS) : head + "x".repeat(BODY_CHARS - head.length);
}

/** The send frame for a protocol; `n` doubles as the command id / socket.io ack id. */
export function sendFrame(protocol: Protocol, roomId: string, body: string, clientId: string, n: number): string {
  if (protocol === "socketio") return `42${n}["message.send",{"roomId":"${roomId}","body":"${body}","clientId":"${clientId}"}]`;
  return `{"type":"message.send","id":"${n}","roomId":"${roomId}","body":"${body}","clientId":"${clientId}"}`;
}

export const Kind = {
  Delivery: 0,
  Ack: 1,
  Error: 2,
  Ready: 3,
  /** socket.io: engine.io open packet; answer with the namespace CONNECT. */
  Open: 4,
  /** engine.io ping; answer with pong. */
  Ping: 5,
  ConnectError: 6,
  Other: 7,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const bytes = (s: string): Buffer => Buffer.from(s, "latin1");
const P_CREATED = bytes('{"type":"message.created"');
const P_ACK = bytes('{"type":"ack","id":"');
const P_ERROR = bytes('{"type":"error"');
const P_READY = bytes('{"type":"ready"');
const S_CREATED = bytes('42["message.created"');

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  if (buf.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

/** Classifies a received text frame by its first bytes. */
export function classify(protocol: Protocol, buf: Buffer): Kind {
  if (protocol === "socketio") {
    const c0 = buf[0];
    if (c0 === 0x34 /* 4 */) {
      const c1 = buf[1];
      if (c1 === 0x32 /* 2 */) return startsWith(buf, S_CREATED) ? Kind.Delivery : Kind.Other;
      if (c1 === 0x33 /* 3 */) return Kind.Ack;
      if (c1 === 0x30 /* 0 */) return Kind.Ready;
      if (c1 === 0x34 /* 4 */) return Kind.ConnectError;
      return Kind.Other;
    }
    if (c0 === 0x32 /* 2 */) return Kind.Ping;
    if (c0 === 0x30 /* 0 */) return Kind.Open;
    return Kind.Other;
  }
  if (startsWith(buf, P_CREATED)) return Kind.Delivery;
  if (startsWith(buf, P_ACK)) return Kind.Ack;
  if (startsWith(buf, P_ERROR)) return Kind.Error;
  if (startsWith(buf, P_READY)) return Kind.Ready;
  return Kind.Other;
}

const BODY_MARKER = bytes('"body":"~');

/** The four numbers of a body, read in place; `ok` is false when the frame has no bench body. */
export interface BodyFields {
  ok: boolean;
  step: number;
  tsUs: number;
  slot: number;
  n: number;
}

/** Reads the bench body's numbers out of a delivery frame into `out`. */
export function readBody(buf: Buffer, out: BodyFields): void {
  const at = buf.indexOf(BODY_MARKER);
  if (at < 0) {
    out.ok = false;
    return;
  }
  let p = at + BODY_MARKER.length;
  const nums = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    let v = 0;
    let c = buf[p++];
    while (c !== undefined && c >= 0x30 && c <= 0x39) {
      v = v * 10 + (c - 0x30);
      c = buf[p++];
    }
    if (c !== 0x2e /* . */) {
      out.ok = false;
      return;
    }
    nums[k] = v;
  }
  out.ok = true;
  out.step = nums[0]!;
  out.tsUs = nums[1]!;
  out.slot = nums[2]!;
  out.n = nums[3]!;
}

/**
 * The command id / ack id of an ack frame, or -1. For socket.io, `isError`
 * tells whether the ack carried an error object instead of a message.
 */
export function readAckId(protocol: Protocol, buf: Buffer): { n: number; isError: boolean } {
  let p = protocol === "socketio" ? 2 : P_ACK.length;
  let v = 0;
  let digits = 0;
  let c = buf[p];
  while (c !== undefined && c >= 0x30 && c <= 0x39) {
    v = v * 10 + (c - 0x30);
    digits++;
    c = buf[++p];
  }
  if (digits === 0) return { n: -1, isError: false };
  // socket.io: 43<id>[{"error":...}] for a refused send.
  const isError = protocol === "socketio" && buf[p + 2] === 0x22 && buf.toString("latin1", p + 3, p + 8) === "error";
  return { n: v, isError };
}
