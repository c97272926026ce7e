/**
 * The service worker's registration (src/web/sw.ts, built to /sw.js by
 * vite-plugin-pwa; docs/web-client.md, "Installable app"). Only in a
 * production build: under `npm run dev` no worker is registered (its
 * precache would serve stale modules under Vite's hot reload), and push
 * says "unsupported" there.
 */

/** Whether this build registers the service worker. */
export function serviceWorkerEnabled(): boolean {
  return import.meta.env.PROD;
}

/**
 * Registers /sw.js for the whole origin once the page has loaded (so the
 * precache's downloads do not compete with the first load). A failure is
 * logged: the app works without its worker, only offline start and push
 * need it.
 */
export function registerServiceWorker(): void {
  if (!serviceWorkerEnabled() || !("serviceWorker" in navigator)) return;
  const register = () => {
    // updateViaCache "none": the browser checks /sw.js (and what it imports) past its HTTP cache, on every navigation.
    navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" }).catch((error: unknown) => {
      console.warn("The service worker could not be registered; offline start and push notifications are off.", error);
    });
  };
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
}
