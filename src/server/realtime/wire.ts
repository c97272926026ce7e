import { Sender } from "ws";

declare module "ws" {
  /** ws's frame builder (public in ws's source, untyped in @types/ws). */
  export class Sender {
    static frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  }
}

/** RFC 6455 §5.2 opcode of a text frame. */
const TEXT_OPCODE = 0x1;

/**
 * A complete, unmasked WebSocket text frame (header + payload) for `text`,
 * built by ws's own framer. Server frames are never masked (RFC 6455 §5.1)
 * and permessage-deflate is off, so the same bytes are valid on every
 * socket: a broadcast frames its event once and writes this one buffer to
 * each recipient (DESIGN.md invariant 8), with no per-recipient copy.
 */
export function frameText(text: string): Buffer {
  const parts = framePartsOf(text);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * Text frames for several texts, back to back in one buffer (one copy, one
 * entry in the socket's write queue): what a catch-up sends, hundreds of
 * stored events at a time.
 */
export function frameTexts(texts: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const text of texts) parts.push(...framePartsOf(text));
  return Buffer.concat(parts);
}

/** ws's frame of `text`: a header and the payload (not copied again: readOnly). */
function framePartsOf(text: string): Buffer[] {
  return Sender.frame(Buffer.from(text), { fin: true, opcode: TEXT_OPCODE, mask: false, readOnly: true, rsv1: false });
}
