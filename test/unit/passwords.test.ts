import { describe, expect, it } from "vitest";
import { hashPassword, isCommonPassword, verifyPassword } from "@server/auth/passwords.js";
import { hashSecret, secretsEqual } from "@server/auth/credentials.js";

describe("passwords", () => {
  it("hashes with argon2id and verifies only the right password", async () => {
    const hash = await hashPassword("tangerine-violet-42");
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, "tangerine-violet-42")).toBe(true);
    expect(await verifyPassword(hash, "tangerine-violet-43")).toBe(false);
    expect(await verifyPassword("not a hash", "x")).toBe(false);
  });

  it("knows common passwords regardless of case", async () => {
    expect(await isCommonPassword("password1")).toBe(true);
    expect(await isCommonPassword("QWERTY123")).toBe(true);
    expect(await isCommonPassword("tangerine-violet-42")).toBe(false);
  });

  it("stores secrets as SHA-256 and compares them in constant time", () => {
    expect(hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(secretsEqual("abc", "abc")).toBe(true);
    expect(secretsEqual("abc", "abd")).toBe(false);
    expect(secretsEqual("abc", "abcd")).toBe(false);
  });
});
