import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { settings } from "@server/config.js";

/** The README's configuration table must list every setting the server reads. */
describe("README", () => {
  it("documents every setting's flag and environment variable", () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
    for (const [key, s] of Object.entries(settings)) {
      const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      expect(readme, flag).toContain(`\`${flag}\``);
      expect(readme, s.env).toContain(`\`${s.env}\``);
    }
  });
});
