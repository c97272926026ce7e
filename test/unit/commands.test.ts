import { describe, expect, it } from "vitest";
import { CommandRejected, parseCommand, peekCommandId } from "@server/realtime/commands.js";
import { AppError } from "@server/errors.js";

const codeOf = (text: string): string => {
  try {
    parseCommand(text);
    return "ok";
  } catch (err) {
    return err instanceof AppError ? err.code : "thrown";
  }
};

describe("parseCommand", () => {
  it("parses each command type and trims a message body", () => {
    const cmd = parseCommand(JSON.stringify({ type: "message.send", id: "1", roomId: "r", body: "  hi  ", clientId: "c" }));
    expect(cmd).toEqual({ type: "message.send", id: "1", roomId: "r", body: "hi", clientId: "c" });
    expect(parseCommand(JSON.stringify({ type: "resume", id: "2", rooms: { r: 3 } }))).toMatchObject({ rooms: { r: 3 } });
    expect(parseCommand(JSON.stringify({ type: "ping", id: "3" })).type).toBe("ping");
    expect(parseCommand(JSON.stringify({ type: "notifications.set", id: "4", dndUntil: null, email: false }))).toEqual({ type: "notifications.set", id: "4", dndUntil: null, email: false });
    expect(parseCommand(JSON.stringify({ type: "room.notifications.set", id: "5", roomId: "r", muted: true }))).toEqual({ type: "room.notifications.set", id: "5", roomId: "r", muted: true });
  });

  it.each([
    ["not JSON", "{", "validation_failed"],
    ["a string", '"x"', "validation_failed"],
    ["null", "null", "validation_failed"],
    ["no id", JSON.stringify({ type: "ping" }), "validation_failed"],
    ["unknown type", JSON.stringify({ type: "nope", id: "1" }), "validation_failed"],
    ["body too long", JSON.stringify({ type: "message.send", id: "1", roomId: "r", clientId: "c", body: "x".repeat(4001) }), "validation_failed"],
    ["too many resume rooms", JSON.stringify({ type: "resume", id: "1", rooms: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`r${i}`, 0])) }), "validation_failed"],
    ["over 64 KiB", JSON.stringify({ type: "ping", id: "1", pad: "x".repeat(65_536) }), "payload_too_large"],
    ["notifications.set, an unknown level", JSON.stringify({ type: "notifications.set", id: "1", roomLevel: "loud" }), "validation_failed"],
    ["notifications.set, not a time", JSON.stringify({ type: "notifications.set", id: "1", dndUntil: "tonight" }), "validation_failed"],
    ["room.notifications.set without a room", JSON.stringify({ type: "room.notifications.set", id: "1", level: "all" }), "validation_failed"],
    ["room.notifications.set, an unknown field", JSON.stringify({ type: "room.notifications.set", id: "1", roomId: "r", loud: true }), "validation_failed"],
  ])("%s → %s", (_what, text, code) => {
    expect(codeOf(text)).toBe(code);
  });

  it("recovers the correlation id when it can, from the one parse", () => {
    const idOf = (text: string): string | null | "parsed" => {
      try {
        parseCommand(text);
        return "parsed";
      } catch (err) {
        expect(err).toBeInstanceOf(CommandRejected);
        return (err as CommandRejected).commandId;
      }
    };
    expect(idOf(JSON.stringify({ type: "nope", id: "abc" }))).toBe("abc");
    expect(idOf(JSON.stringify({ type: "message.send", id: "m1", roomId: "r" }))).toBe("m1");
    expect(idOf("{")).toBeNull();
    expect(idOf(JSON.stringify({ id: 5 }))).toBeNull();
    expect(idOf(JSON.stringify({ type: "nope", id: "x".repeat(65) }))).toBeNull();
    // Too large: refused before it is parsed, so no id.
    expect(idOf(JSON.stringify({ type: "ping", id: "big", pad: "x".repeat(65_536) }))).toBeNull();
  });
});

describe("peekCommandId", () => {
  it("finds the id in a frame's head without parsing it", () => {
    expect(peekCommandId(Buffer.from('{"type":"message.send","id":"c-1","roomId":"r","body":"hi"}'))).toBe("c-1");
    expect(peekCommandId(Buffer.from('{ "id" : "spaced", "type": "ping" }'))).toBe("spaced");
  });

  it("does not take a quoted id inside a string, nor one past the head, nor an over-long one", () => {
    expect(peekCommandId(Buffer.from(JSON.stringify({ type: "message.send", body: '"id":"forged"' })))).toBeNull();
    expect(peekCommandId(Buffer.from(JSON.stringify({ type: "ping", pad: "x".repeat(300), id: "late" })))).toBeNull();
    expect(peekCommandId(Buffer.from(JSON.stringify({ type: "ping", id: "x".repeat(65) })))).toBeNull();
    expect(peekCommandId(Buffer.from("not json at all"))).toBeNull();
  });
});
