import { describe, expect, it } from "vitest";
import { EMPTY_EPHEMERAL, applyEphemeral, presenceLabel, typingSentence } from "./ephemeral";
import { typingSignal, TYPING_REFRESH_MS } from "@web/messages/typingSignal";

describe("typing line", () => {
  it("names one or two typists, then says several", () => {
    expect(typingSentence([])).toBe("");
    expect(typingSentence(["alice"])).toBe("alice is typing…");
    expect(typingSentence(["alice", "bob"])).toBe("alice and bob are typing…");
    expect(typingSentence(["alice", "bob", "carol"])).toBe("several people are typing…");
  });

  it("tracks starts and stops per room, once per user", () => {
    let s = applyEphemeral(EMPTY_EPHEMERAL, { type: "typing.updated", roomId: "r", userId: "a", state: "start" });
    s = applyEphemeral(s, { type: "typing.updated", roomId: "r", userId: "a", state: "start" });
    s = applyEphemeral(s, { type: "typing.updated", roomId: "r", userId: "b", state: "start" });
    expect(s.typing.r).toEqual(["a", "b"]);
    s = applyEphemeral(s, { type: "typing.updated", roomId: "r", userId: "a", state: "stop" });
    expect(s.typing.r).toEqual(["b"]);
    expect(applyEphemeral(s, { type: "typing.updated", roomId: "r", userId: "zed", state: "stop" })).toBe(s);
  });
});

describe("presence label", () => {
  const now = new Date("2026-01-01T12:00:00Z");
  it("says online, away, offline with when last seen", () => {
    expect(presenceLabel({ status: "online", lastSeenAt: null }, now)).toBe("online");
    expect(presenceLabel({ status: "away", lastSeenAt: null }, now)).toBe("away");
    expect(presenceLabel({ status: "offline", lastSeenAt: null }, now)).toBe("offline");
    expect(presenceLabel({ status: "offline", lastSeenAt: "2026-01-01T11:50:00Z" }, now)).toBe("offline, last seen 10 min ago");
  });
});

describe("composer typing signal", () => {
  it("starts on text, repeats at most every refresh interval, stops on empty or stopped", () => {
    let t = 0;
    const sent: string[] = [];
    const signal = typingSignal((s) => sent.push(s), () => t);
    signal.changed("h");
    signal.changed("he");
    t += TYPING_REFRESH_MS - 1;
    signal.changed("hel");
    expect(sent).toEqual(["start"]);
    t += 1;
    signal.changed("hell");
    expect(sent).toEqual(["start", "start"]);
    signal.changed("");
    signal.stopped();
    expect(sent).toEqual(["start", "start", "stop"]);
    signal.changed("x");
    signal.stopped();
    expect(sent).toEqual(["start", "start", "stop", "start", "stop"]);
  });
});
