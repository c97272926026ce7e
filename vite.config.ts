import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

/**
 * The web client's build. The SPA lives in src/web and is built to dist/web,
 * which the Parley server serves as static files. In development, `vite`
 * serves the SPA and forwards the API and the WebSocket to a Parley server
 * on port 3000, so the browser sees one origin (the session cookie and the
 * WebSocket's Origin check both depend on that).
 */
/**
 * The emoji picker's data (emojibase-data's en/compact.json, a lazy chunk)
 * without the skin-tone variants the picker does not offer: 546 → 273 KB
 * before gzip. Runs before Vite's JSON plugin, on that one file.
 */
function emojiWithoutSkins(): Plugin {
  return {
    name: "parley-emoji-without-skins",
    enforce: "pre",
    transform(code, id) {
      if (!/[\\/]emojibase-data[\\/]en[\\/]compact\.json$/.test(id)) return null;
      const data = JSON.parse(code) as { skins?: unknown }[];
      return { code: JSON.stringify(data.map(({ skins: _skins, ...emoji }) => emoji)), map: null };
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL("./src/web", import.meta.url)),
  plugins: [react(), emojiWithoutSkins()],
  resolve: {
    alias: {
      "@shared": fileURLToPath(new URL("./src/shared", import.meta.url)),
      "@web": fileURLToPath(new URL("./src/web", import.meta.url)),
    },
  },
  build: {
    outDir: fileURLToPath(new URL("./dist/web", import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod ships /* @__PURE__ */ comments in places Rollup cannot use; the
        // warning is about zod's build, says nothing about ours, and would bury real ones.
        if (warning.code === "INVALID_ANNOTATION" && warning.id?.includes("/node_modules/zod/")) return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:3000", changeOrigin: false },
      "/ws": { target: "http://127.0.0.1:3000", ws: true, changeOrigin: false },
    },
  },
});
