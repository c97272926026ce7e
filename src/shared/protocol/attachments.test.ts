import { describe, expect, it } from "vitest";
import { formatSize } from "./attachments.js";

describe("formatSize", () => {
  it("says bytes, KB and MB with one decimal below ten", () => {
    expect(formatSize(0)).toBe("0 B");
    expect(formatSize(512)).toBe("512 B");
    expect(formatSize(1023)).toBe("1023 B");
    expect(formatSize(1024)).toBe("1 KB");
    expect(formatSize(1536)).toBe("1.5 KB");
    expect(formatSize(10_189)).toBe("10 KB");
    expect(formatSize(348_160)).toBe("340 KB");
    expect(formatSize(2.4 * 1024 * 1024)).toBe("2.4 MB");
    expect(formatSize(25 * 1024 * 1024)).toBe("25 MB");
    expect(formatSize(3 * 1024 ** 3)).toBe("3 GB");
  });
});
