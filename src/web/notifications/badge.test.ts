import { describe, expect, it } from "vitest";
import { showUnreadOnAppIcon } from "./badge";

function recorder() {
  const calls: (number | "clear")[] = [];
  return {
    calls,
    nav: {
      setAppBadge: (count?: number) => (calls.push(count ?? 0), Promise.resolve()),
      clearAppBadge: () => (calls.push("clear"), Promise.resolve()),
    },
  };
}

describe("showUnreadOnAppIcon", () => {
  it("sets the count, uncapped (the icon draws its own), and clears at 0", () => {
    const { calls, nav } = recorder();
    showUnreadOnAppIcon(3, nav);
    showUnreadOnAppIcon(1500, nav);
    showUnreadOnAppIcon(0, nav);
    expect(calls).toEqual([3, 1500, "clear"]);
  });

  it("does nothing where the browser has no Badging API", () => {
    expect(() => showUnreadOnAppIcon(2, {})).not.toThrow();
  });

  it("a refusal (app not installed) is swallowed, not an unhandled rejection", async () => {
    const refused = () => Promise.reject(new DOMException("not installed", "NotAllowedError"));
    showUnreadOnAppIcon(2, { setAppBadge: refused, clearAppBadge: refused });
    showUnreadOnAppIcon(0, { setAppBadge: refused, clearAppBadge: refused });
    // An unhandled rejection would fail the run; give the microtasks a turn.
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
});
