import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

/**
 * The web client's build. The SPA lives in src/web and is built to dist/web,
 * which the Parley server serves as static files. In development, `vite`
 * serves the SPA and forwards the API and the WebSocket to a Parley server
 * on port 3000, so the browser sees one origin (the session cookie and the
 * WebSocket's Origin check both depend on that).
 */
export default defineConfig({
  root: fileURLToPath(new URL("./src/web", import.meta.url)),
  plugins: [react()],
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
