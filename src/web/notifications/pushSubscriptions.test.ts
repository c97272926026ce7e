import { describe, expect, it } from "vitest";
import { PushError, base64UrlBytes, deviceLabel, subscriptionKeys } from "./pushSubscriptions";

describe("deviceLabel", () => {
  it("names the browser and the system from common User-Agent strings", () => {
    const cases: [string, string][] = [
      ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36", "Chrome on Linux"],
      ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/143.0.0.0 Safari/537.36", "Chrome on Linux"],
      ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36 Edg/143.0.0.0", "Edge on Windows"],
      ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:146.0) Gecko/20100101 Firefox/146.0", "Firefox on macOS"],
      ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15", "Safari on macOS"],
      ["Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1", "Safari on iOS"],
      ["Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Mobile Safari/537.36", "Chrome on Android"],
      ["Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"],
      ["Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36", "Chrome on ChromeOS"],
      ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36 OPR/110.0.0.0", "Opera on Windows"],
      ["", "Browser on this device"],
    ];
    for (const [ua, label] of cases) expect(deviceLabel(ua), ua).toBe(label);
  });
});

describe("base64UrlBytes", () => {
  it("decodes base64url with or without padding", () => {
    expect([...(base64UrlBytes("AQID") ?? [])]).toEqual([1, 2, 3]);
    expect([...(base64UrlBytes("-_8") ?? [])]).toEqual([0xfb, 0xff]);
    expect([...(base64UrlBytes("-_8=") ?? [])]).toEqual([0xfb, 0xff]);
  });
  it("null for an empty key (the server has none yet) or anything not base64url", () => {
    for (const text of ["", "a+b/", "ab cd", "abc=d", "a"]) expect(base64UrlBytes(text), text).toBeNull();
  });
});

describe("subscriptionKeys", () => {
  it("takes the endpoint and both keys", () => {
    expect(subscriptionKeys({ endpoint: "https://push.example/abc", expirationTime: null, keys: { p256dh: "BPk", auth: "c2VjcmV0" } })).toEqual({
      endpoint: "https://push.example/abc",
      keys: { p256dh: "BPk", auth: "c2VjcmV0" },
    });
  });
  it("refuses a subscription without its keys", () => {
    expect(() => subscriptionKeys({ endpoint: "https://push.example/abc" })).toThrow(PushError);
    expect(() => subscriptionKeys({ keys: { p256dh: "a", auth: "b" } })).toThrow(PushError);
  });
});
