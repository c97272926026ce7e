/**
 * Launching Chromium for the end-to-end tests, without downloading anything.
 *
 * Which browser, in order:
 * 1. `PARLEY_CHROMIUM`: a path to any Chromium or Chrome binary;
 * 2. `/usr/bin/chromium` when it exists (Debian's package), headless with
 *    the flags that keep it from reaching the network on its own (updates,
 *    sync, QUIC probes), so the tests only ever talk to 127.0.0.1;
 * 3. the Chromium bundled by `@sparticuz/chromium` (a devDependency), which
 *    unpacks itself to /tmp; run with its flags minus --single-process.
 */
import fs from "node:fs";
import { chromium, type Browser } from "playwright-core";

const QUIET_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const DEBIAN_CHROMIUM = "/usr/bin/chromium";

export interface LaunchOptions {
  /**
   * Flags added to this browser only, after the usual ones: e.g. a test of
   * the microphone passes `--use-fake-device-for-media-stream` and
   * `--use-fake-ui-for-media-stream` (a generated tone, permission granted
   * without a prompt); every other test's browser is left as it is.
   */
  extraArgs?: readonly string[];
}

/** Starts a headless Chromium; the caller closes it. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const extra = options.extraArgs ?? [];
  const fromEnv = process.env.PARLEY_CHROMIUM;
  if (fromEnv) return chromium.launch({ executablePath: fromEnv, args: [...QUIET_FLAGS, ...extra], headless: true });
  if (fs.existsSync(DEBIAN_CHROMIUM)) {
    return chromium.launch({ executablePath: DEBIAN_CHROMIUM, args: [...QUIET_FLAGS, ...extra], headless: true });
  }
  const bundled = (await import("@sparticuz/chromium")).default;
  // Its default flags are for AWS Lambda. --single-process makes every browser
  // context share one renderer: cookies leak between contexts (two people in
  // one test become one) and closing a context ends the browser. Drop it.
  const args = bundled.args.filter((arg) => arg !== "--single-process");
  return chromium.launch({ executablePath: await bundled.executablePath(), args: [...args, ...extra], headless: true });
}
