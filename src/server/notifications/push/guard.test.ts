import { describe, expect, it } from "vitest";
import { PRIVATE_ADDRESS, checkEndpoint, guardedLookup, isPublicAddress, literalAllowed } from "./guard.js";

/** The SSRF guard's rules (guard.ts): which addresses a push may reach, at subscribe time and as a connection opens. */
describe("push SSRF guard", () => {
  it("allows public unicast addresses only", () => {
    for (const a of ["8.8.8.8", "142.250.185.10", "2001:4860:4860::8888", "::ffff:8.8.8.8"]) expect(isPublicAddress(a), a).toBe(true);
    for (const a of [
      "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.5", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1",
      "::1", "::", "fe80::1", "fd00::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "ff02::1", "not an address",
    ]) expect(isPublicAddress(a), a).toBe(false);
  });

  it("judges IP-literal endpoints at send time, and leaves names to the lookup", () => {
    expect(literalAllowed(new URL("https://127.0.0.1/x"), false)).toBe(false);
    expect(literalAllowed(new URL("https://[::1]/x"), false)).toBe(false);
    expect(literalAllowed(new URL("https://8.8.8.8/x"), false)).toBe(true);
    expect(literalAllowed(new URL("https://push.example.com/x"), false)).toBe(true);
    expect(literalAllowed(new URL("https://127.0.0.1/x"), true)).toBe(true);
  });

  it("refuses a name when ANY address it resolves to is private, and one that does not resolve", async () => {
    const resolve = (map: Record<string, string[]>) => async (host: string) => {
      const found = map[host];
      if (!found) throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
      return found.map((address) => ({ address }));
    };
    const dns = resolve({ "push.example.com": ["8.8.8.8"], "mixed.example.com": ["8.8.8.8", "10.0.0.1"], "empty.example.com": [] });
    await expect(checkEndpoint("https://push.example.com/x", false, dns)).resolves.toBeUndefined();
    await expect(checkEndpoint("https://mixed.example.com/x", false, dns)).rejects.toMatchObject({ code: "validation_failed", details: [{ path: "body.endpoint" }] });
    await expect(checkEndpoint("https://empty.example.com/x", false, dns)).rejects.toMatchObject({ code: "validation_failed" });
    await expect(checkEndpoint("https://gone.example.com/x", false, dns)).rejects.toMatchObject({ code: "validation_failed" });
    await expect(checkEndpoint("https://[fe80::1]/x", false, dns)).rejects.toMatchObject({ code: "validation_failed" });
    await expect(checkEndpoint("https://mixed.example.com/x", true, dns)).resolves.toBeUndefined();
  });

  it("fails a connection's lookup of a name on a private address, in both of net's calling forms", async () => {
    const lookup = (allow: boolean, all: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
        (guardedLookup(allow) as unknown as (h: string, o: object, cb: (err: NodeJS.ErrnoException | null, address: unknown) => void) => void)(
          "localhost",
          { all },
          (err, address) => resolve({ err, address }),
        ),
      );
    expect((await lookup(false, false)).err?.code).toBe(PRIVATE_ADDRESS);
    expect((await lookup(false, true)).err?.code).toBe(PRIVATE_ADDRESS);
    const single = await lookup(true, false);
    expect(single.err).toBeNull();
    expect(typeof single.address).toBe("string");
    const all = await lookup(true, true);
    expect(Array.isArray(all.address)).toBe(true);
  });
});
