import { describe, expect, it } from "vitest";
import { frameText, frameTexts } from "@server/realtime/wire.js";

/** Texts whose UTF-8 payloads sit on every length boundary of RFC 6455 §5.2 (7-bit, 16-bit, 64-bit), multi-byte text included. */
const texts = [
  "",
  "a",
  "x".repeat(125),
  "x".repeat(126),
  "x".repeat(127),
  "é".repeat(63), // 126 bytes from 63 characters
  "x".repeat(0xffff),
  "x".repeat(0x10000),
  `${"🙂".repeat(20_000)}…`, // 80,003 bytes
  JSON.stringify({ type: "message.created", seq: 7, message: { body: "<b>not html</b> \u2028 \ud83d" } }),
];

describe("frameTexts", () => {
  it("gives the same bytes as ws's framer, frame after frame", () => {
    expect(frameTexts(texts).equals(Buffer.concat(texts.map(frameText)))).toBe(true);
  });

  it("frames that read back (RFC 6455 §5.2: FIN, text opcode, unmasked, 7/16/64-bit length) as the same texts, in order", () => {
    const wire = frameTexts(texts);
    const got: string[] = [];
    let at = 0;
    while (at < wire.length) {
      expect(wire[at]).toBe(0x81);
      const short = wire[at + 1]!;
      expect(short & 0x80).toBe(0); // unmasked
      let length = short;
      at += 2;
      if (short === 126) {
        length = wire.readUInt16BE(at);
        at += 2;
      } else if (short === 127) {
        length = Number(wire.readBigUInt64BE(at));
        at += 8;
      }
      got.push(wire.subarray(at, at + length).toString("utf8"));
      at += length;
    }
    expect(got).toEqual(texts.map((t) => Buffer.from(t, "utf8").toString("utf8")));
  });

  it("is an empty buffer for no texts", () => {
    expect(frameTexts([]).length).toBe(0);
  });
});
