import { describe, expect, it } from "vitest";
import { commandIdOf, parseCommand } from "@server/realtime/commands.js";
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
  ])("%s → %s", (_what, text, code) => {
    expect(codeOf(text)).toBe(code);
  });

  it("recovers the correlation id when it can", () => {
    expect(commandIdOf(JSON.stringify({ type: "nope", id: "abc" }))).toBe("abc");
    expect(commandIdOf("{")).toBeNull();
    expect(commandIdOf(JSON.stringify({ id: 5 }))).toBeNull();
  });
});
