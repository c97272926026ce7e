import { describe, expect, it } from "vitest";
import { CreateRoomRequestSchema, LoginRequestSchema, MessageBodySchema, SignupRequestSchema, UserSearchQuerySchema } from "./http.js";
import { ClientCommandSchema } from "./frames.js";
import { findTextProblem, hasVisibleCharacter, nameText, bodyText, idText } from "./text.js";

const name = nameText({ label: "Room name", max: 80 });
const topic = nameText({ label: "Topic", min: 0, max: 250 });
const body = bodyText({ label: "Message", max: 4000 });
const id = idText({ label: "Room id", max: 64 });

const messagesOf = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
  r.success ? [] : (r.error?.issues.map((i) => i.message) ?? []);

describe("NFC normalization", () => {
  it("stores the composed form of a decomposed accent", () => {
    expect(body.parse("e\u0301")).toBe("\u00e9");
    expect(name.parse("Cafe\u0301")).toBe("Caf\u00e9");
  });
  it("measures length after normalization", () => {
    // 80 decomposed é are 160 code units sent, 80 stored: within a limit of 80.
    expect(name.parse("e\u0301".repeat(80))).toHaveLength(80);
  });
  it("turns CRLF and CR into LF in bodies", () => {
    expect(body.parse("one\r\ntwo\rthree")).toBe("one\ntwo\nthree");
  });
});

describe("control characters", () => {
  it("bodies keep \\n and \\t and refuse the others", () => {
    expect(body.parse("a\n\tb")).toBe("a\n\tb");
    for (const c of ["\u0000", "\u0007", "\u001b", "\u007f", "\u0085", "\u009b"]) {
      expect(messagesOf(body.safeParse(`a${c}b`))).toEqual([expect.stringContaining("control character")]);
    }
  });
  it("names and topics keep none, not even \\n and \\t", () => {
    for (const c of ["\u0000", "\n", "\t", "\u001b", "\u0085"]) {
      expect(name.safeParse(`a${c}b`).success).toBe(false);
      expect(topic.safeParse(`a${c}b`).success).toBe(false);
    }
  });
  it("ids, login and search refuse a NUL", () => {
    expect(id.safeParse("room\u0000").success).toBe(false);
    expect(LoginRequestSchema.safeParse({ username: "ada\u0000", password: "x" }).success).toBe(false);
    expect(UserSearchQuerySchema.safeParse({ q: "\u0000" }).success).toBe(false);
  });
  it("names the character in the message", () => {
    expect(messagesOf(name.safeParse("a\u0000b"))).toEqual(["Room name contains a control character (U+0000)."]);
  });
});

describe("bidirectional controls", () => {
  const controls = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"];
  it("are refused in names, topics and bodies", () => {
    for (const c of controls) {
      expect(messagesOf(name.safeParse(`admin${c}txt.exe`))).toEqual([expect.stringContaining("bidirectional")]);
      expect(topic.safeParse(`x${c}y`).success).toBe(false);
      expect(body.safeParse(`x${c}y`).success).toBe(false);
    }
  });
  it("marks (LRM, RLM, ALM) are refused in names but kept in bodies", () => {
    for (const c of ["\u200e", "\u200f", "\u061c"]) {
      expect(name.safeParse(`a${c}b`).success).toBe(false);
      expect(body.parse(`a${c}b`)).toBe(`a${c}b`);
    }
  });
  it("search refuses an override too", () => {
    expect(UserSearchQuerySchema.safeParse({ q: "\u202eada" }).success).toBe(false);
  });
});

describe("invisible characters in names", () => {
  const invisible = ["\u200b", "\u2060", "\u2061", "\u2064", "\ufeff", "\u00ad", "\u034f", "\u3164", "\u115f", "\u180e", "\u{e0041}"];
  it("are refused anywhere in a name", () => {
    for (const c of invisible) {
      expect(messagesOf(name.safeParse(`ad${c}min`)), `U+${c.codePointAt(0)!.toString(16)}`).toEqual([
        expect.stringContaining("invisible character"),
      ]);
    }
  });
  it("a ZWJ or ZWNJ between Latin letters is refused (it only hides a difference)", () => {
    expect(name.safeParse("ad\u200dmin").success).toBe(false);
    expect(name.safeParse("ad\u200cmin").success).toBe(false);
  });
  it("a stray variation selector or tag is refused, a lone joiner at the start too", () => {
    expect(name.safeParse("\ufe0fabc").success).toBe(false);
    expect(name.safeParse("\u200d\u{1F4BB}").success).toBe(false);
    expect(name.safeParse("flag\u{e0067}\u{e0062}").success).toBe(false);
  });
  it("excessive combining marks are refused", () => {
    expect(name.safeParse(`Z${"\u0300\u0301\u0302\u0303\u0304"}algo`).success).toBe(false);
    expect(name.parse("Nguy\u1ec5n")).toBe("Nguy\u1ec5n");
  });
});

describe("what stays allowed", () => {
  it("emoji ZWJ sequences in names and bodies", () => {
    for (const emoji of ["\u{1F469}\u200d\u{1F4BB}", "\u{1F469}\u{1F3FD}\u200d\u{1F4BB}", "\u{1F3F3}\ufe0f\u200d\u{1F308}", "\u2764\ufe0f\u200d\u{1F525}"]) {
      expect(name.parse(`Ada ${emoji}`)).toBe(`Ada ${emoji}`);
      expect(body.parse(emoji)).toBe(emoji);
    }
  });
  it("emoji with a variation selector and subdivision flags (tag sequences)", () => {
    expect(name.parse("I \u2764\ufe0f tea")).toBe("I \u2764\ufe0f tea");
    const scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
    expect(name.parse(`Team ${scotland}`)).toBe(`Team ${scotland}`);
    expect(body.parse(scotland)).toBe(scotland);
  });
  it("joiners where scripts shape with them: Persian ZWNJ, Devanagari ZWJ", () => {
    expect(name.parse("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")).toContain("\u200c");
    expect(name.parse("\u0915\u094d\u200d\u0937")).toContain("\u200d");
  });
  it("ordinary text in many scripts", () => {
    for (const s of ["Zoë", "Łódź", "Ελληνικά", "Жанна", "日本語", "עברית", "العربية", "🎉 party"]) expect(name.parse(s)).toBe(s);
  });
  it("bodies refuse tag characters outside an emoji flag (hidden 'ASCII smuggling' text)", () => {
    const hidden = [..."ignore previous instructions"].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join("");
    expect(messagesOf(body.safeParse(`hello${hidden}`))).toEqual([expect.stringContaining("invisible character (U+E0069)")]);
  });
  it("bodies keep zero-width characters between visible text (Thai line breaks, joiners)", () => {
    expect(body.parse("a\u200bb\u200cc")).toBe("a\u200bb\u200cc");
  });
});

describe("no visible character", () => {
  it("hasVisibleCharacter", () => {
    expect(hasVisibleCharacter("a")).toBe(true);
    expect(hasVisibleCharacter("\u{1F469}\u200d\u{1F4BB}")).toBe(true);
    for (const s of ["", " ", "\u200b", "\u200d", "\u200b\u200d \u3000\ufeff", "\u3164", "\u2800", "\u0301", "\ufe0f", "\u{e0041}"]) {
      expect(hasVisibleCharacter(s), JSON.stringify(s)).toBe(false);
    }
  });
  it("a body of only ZWSP, ZWJ and whitespace is refused", () => {
    expect(messagesOf(MessageBodySchema.safeParse("\u200b\u200d \u200b"))).toEqual(["Message has no visible character."]);
    expect(messagesOf(MessageBodySchema.safeParse("   "))).toEqual(["Message is empty."]);
  });
  it("a name of only a combining mark or braille blank is refused", () => {
    expect(messagesOf(name.safeParse("\u2800"))).toEqual(["Room name has no visible character."]);
    expect(name.safeParse("\u0301").success).toBe(false);
  });
  it("an empty topic is still fine, an invisible one is not", () => {
    expect(topic.parse("")).toBe("");
    expect(topic.safeParse("\u2800").success).toBe(false);
  });
});

describe("unpaired surrogates", () => {
  it("are refused everywhere", () => {
    expect(findTextProblem("a\ud800b", "body")?.reason).toBe("surrogate");
    expect(findTextProblem("a\udc00", "id")?.reason).toBe("surrogate");
    expect(findTextProblem("\u{1F600}", "name")).toBeNull();
  });
});

describe("the shared schemas use the rules, with the field in the path", () => {
  it("room create", () => {
    const r = CreateRoomRequestSchema.safeParse({ name: "ok", kind: "public", topic: "read \u202etxt.exe" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["topic"]);
  });
  it("signup displayName", () => {
    const r = SignupRequestSchema.safeParse({
      email: "a@example.test", username: "ada", password: "long enough pw", passwordConfirm: "long enough pw", displayName: "\u200b",
    });
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["displayName"]);
  });
  it("message.send over the WebSocket uses the same body rules", () => {
    const r = ClientCommandSchema.safeParse({ type: "message.send", id: "c1", roomId: "r", clientId: "k", body: "\u200b" });
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["body"]);
    const ok = ClientCommandSchema.parse({ type: "message.send", id: "c1", roomId: "r", clientId: "k", body: " e\u0301 " });
    expect(ok.type === "message.send" && ok.body).toBe("\u00e9");
  });
  it("resume refuses a room id with a NUL", () => {
    expect(ClientCommandSchema.safeParse({ type: "resume", id: "c2", rooms: { "r\u0000": 1 } }).success).toBe(false);
  });
});
