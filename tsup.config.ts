import { defineConfig } from "tsup";

/**
 * Bundles the server into dist/server/main.js (ESM). Dependencies stay
 * external (native modules like better-sqlite3 cannot be bundled); only our
 * own modules, including src/shared, are inlined, resolving the @-aliases.
 */
export default defineConfig({
  entry: { main: "src/server/main.ts" },
  outDir: "dist/server",
  format: ["esm"],
  platform: "node",
  target: "node20",
  sourcemap: true,
  clean: true,
  splitting: false,
  tsconfig: "tsconfig.json",
});
