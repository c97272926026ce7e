import { defineConfig, type Plugin, type Rollup } from "vite";
import react from "@vitejs/plugin-react";
import { VitePWA } from "vite-plugin-pwa";
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

/**
 * Rollup's warnings minus one: zod ships /* @__PURE__ *\/ comments in places
 * Rollup cannot use; the warning is about zod's build, says nothing about
 * ours, and would bury real ones.
 */
const withoutZodAnnotations: NonNullable<Rollup.RollupOptions["onwarn"]> = (warning, warn) => {
  if (warning.code === "INVALID_ANNOTATION" && warning.id?.includes("/node_modules/zod/")) return;
  warn(warning);
};

/**
 * The installable app (issue 19; docs/web-client.md, "Installable app"):
 * the web app manifest (manifest.webmanifest, linked from index.html by
 * the plugin) and the service worker src/web/sw.ts, built to /sw.js as a
 * classic script (module workers are not everywhere yet) with workbox's
 * precache list of the build injected (`injectManifest`: the worker is
 * ours, workbox only lists the files). The worker is registered by
 * app/serviceWorker.ts (injectRegister false), in production builds only.
 */
function installableApp(): Plugin[] {
  return VitePWA({
    strategies: "injectManifest",
    srcDir: ".",
    filename: "sw.ts",
    injectRegister: false,
    manifestFilename: "manifest.webmanifest",
    // The icons' PNGs are in the precache through the glob below; the plugin would add them twice.
    includeManifestIcons: false,
    manifest: {
      id: "/",
      name: "Parley",
      short_name: "Parley",
      description: "Chat: rooms, direct messages, live.",
      start_url: "/",
      scope: "/",
      display: "standalone",
      // The sidebar's colour (--side-bg, index.html's theme-color) and the page's (--bg): the title bar and the splash.
      theme_color: "#171b26",
      background_color: "#ffffff",
      icons: [
        { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
        { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
        { src: "/icons/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
      ],
    },
    injectManifest: {
      rollupFormat: "iife",
      // The shell and what it shows offline: scripts, styles, the page, icons and the manifest (not the source maps).
      // (The manifest is added by the plugin itself.)
      globPatterns: ["**/*.{js,css,html,png,svg}"],
      // The worker is not in its own precache.
      globIgnores: ["sw.js"],
      // The worker bundles the shared zod schemas too: the same warning to leave out.
      rollupOptions: { onwarn: withoutZodAnnotations },
    },
  });
}

export default defineConfig({
  root: fileURLToPath(new URL("./src/web", import.meta.url)),
  plugins: [react(), emojiWithoutSkins(), installableApp()],
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
    rollupOptions: { onwarn: withoutZodAnnotations },
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:3000", changeOrigin: false },
      "/ws": { target: "http://127.0.0.1:3000", ws: true, changeOrigin: false },
    },
  },
});
