import { describe, expect, it } from "vitest";
import type { Member } from "@shared/protocol/index.js";
import { MAX_MENTION_OPTIONS, mentionOptions, mentionQueryAt } from "./MentionAutocomplete";

const member = (id: string, username: string, displayName = username): Member => ({
  user: { id, username, displayName, createdAt: "2025-01-01T00:00:00Z" },
  role: "member",
  joinedAt: "2025-01-01T00:00:00Z",
});

describe("mentionQueryAt", () => {
  it("finds the @query ending at the caret, at the start or after a space or punctuation", () => {
    expect(mentionQueryAt("@bo", 3)).toEqual({ start: 0, query: "bo" });
    expect(mentionQueryAt("lunch @bo", 9)).toEqual({ start: 6, query: "bo" });
    expect(mentionQueryAt("(@", 2)).toEqual({ start: 1, query: "" });
    expect(mentionQueryAt("hi @bob and more", 7)).toEqual({ start: 3, query: "bob" });
  });

  it("is null inside an email, after a space past the name, or with the caret elsewhere", () => {
    expect(mentionQueryAt("ada@exa", 7)).toBeNull();
    expect(mentionQueryAt("@bob ", 5)).toBeNull();
    expect(mentionQueryAt("@bob hi", 7)).toBeNull();
    expect(mentionQueryAt("plain", 5)).toBeNull();
  });
});

describe("mentionOptions", () => {
  const members = [member("me", "ada"), member("b", "bob", "Robert Brown"), member("c", "carol", "Bobbie C"), member("d", "dan")];

  it("matches username or a display-name word, case-insensitive, usernames first, never me", () => {
    expect(mentionOptions(members, "BO", "me", false).map((o) => o.insert)).toEqual(["@bob", "@carol"]);
    expect(mentionOptions(members, "brown", "me", false).map((o) => o.insert)).toEqual(["@bob"]);
    expect(mentionOptions(members, "ad", "me", false)).toEqual([]);
  });

  it("offers @room and @here to owners and admins only", () => {
    expect(mentionOptions(members, "roo", "me", true).map((o) => o.insert)).toEqual(["@room"]);
    expect(mentionOptions(members, "ro", "me", true).map((o) => o.insert)).toEqual(["@bob", "@room"]);
    expect(mentionOptions(members, "", "me", true).map((o) => o.insert).slice(-2)).toEqual(["@room", "@here"]);
    expect(mentionOptions(members, "h", "me", false)).toEqual([]);
  });

  it(`shows at most ${MAX_MENTION_OPTIONS}`, () => {
    const many = Array.from({ length: 20 }, (_, i) => member(`u${i}`, `user${i}`));
    expect(mentionOptions(many, "user", null, false)).toHaveLength(MAX_MENTION_OPTIONS);
  });
});
