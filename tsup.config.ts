import { defineConfig } from "tsup";

/**
 * Bundles the server into dist/server/main.js (ESM), with its pure-JS
 * dependencies inlined: Node's module loader resolving and compiling a few
 * hundred separate files was most of the start-up time. Left external:
 * native modules (better-sqlite3, @node-rs/argon2), modules loaded only
 * when first needed (pg for a PostgreSQL URL; the common-password list,
 * megabytes of data, at the first signup), and the Swagger UI plugin, which
 * serves files from its own package directory.
 */
export default defineConfig({
  entry: { main: "src/server/main.ts", "copy-database": "src/server/copy-database.ts" },
  outDir: "dist/server",
  format: ["esm"],
  platform: "node",
  target: "node20",
  sourcemap: true,
  clean: true,
  splitting: false,
  tsconfig: "tsconfig.json",
  noExternal: [/^(?!better-sqlite3|@node-rs\/|pg$|pg\/|pg-native|@fastify\/swagger-ui|@fastify\/static|@zxcvbn-ts\/)/],
  // Bundled CommonJS packages call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __parleyCreateRequire } from 'node:module'; const require = __parleyCreateRequire(import.meta.url);" },
});
