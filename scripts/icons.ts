/**
 * Draws the installable app's icons (issue 19) from one SVG and writes the
 * PNGs the web app manifest, iOS and notifications use to
 * src/web/public/icons/ (Vite copies them to dist/web/icons/). The PNGs are
 * committed: the build does not run this. Run it again after changing the
 * drawing:
 *
 *   npx tsx scripts/icons.ts
 *
 * The letter is a path, not text, so the result does not depend on the
 * fonts of the machine that runs this (resvg would otherwise pick one).
 * - icon-192.png, icon-512.png ("any"): the logo of the sidebar (.logo in
 *   styles.css: a rounded square, #6366f1 → #4338ca, a white P) on a
 *   transparent ground.
 * - icon-maskable-512.png ("maskable"): the same colours to the edges, the
 *   P inside the central circle of 40 % radius that every mask keeps
 *   (https://www.w3.org/TR/appmanifest/#icon-masks).
 * - apple-touch-icon.png (180 px): iOS rounds the corners itself and shows
 *   transparency as black, so it is square and opaque.
 * - badge-96.png: the small monochrome icon of a notification on Android
 *   (only its alpha is used): a white P on transparent.
 * - icon.svg: the "any" icon as SVG, for browsers that take one.
 */
import fs from "node:fs";
import path from "node:path";
import { Resvg } from "@resvg/resvg-js";
import sharp from "sharp";

const OUT = path.resolve(import.meta.dirname, "../src/web/public/icons");

/** The P as strokes in a 512 box, centred on 256,256; `scale` shrinks it about the centre (1 = the "any" size). */
function letter(scale: number, colour = "#ffffff"): string {
  return `<g transform="translate(256 256) scale(${scale}) translate(-256 -256)">` +
    `<path d="M 181 375 V 137 H 263 A 68 68 0 0 1 263 273 H 181" fill="none" stroke="${colour}" stroke-width="56" stroke-linecap="round" stroke-linejoin="round"/>` +
    `</g>`;
}

const GRADIENT = `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#6366f1"/><stop offset="1" stop-color="#4338ca"/></linearGradient></defs>`;

/** Rounded square with a margin (the shape of .logo), transparent corners. */
const ANY = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${GRADIENT}<rect x="16" y="16" width="480" height="480" rx="112" fill="url(#g)"/>${letter(1)}</svg>`;
/** Full bleed, the letter smaller: it must stay inside the 0.4 × 512 = 205 px radius of the safe zone. */
const MASKABLE = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${GRADIENT}<rect width="512" height="512" fill="url(#g)"/>${letter(0.85)}</svg>`;
const SQUARE = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${GRADIENT}<rect width="512" height="512" fill="url(#g)"/>${letter(0.85)}</svg>`;
const BADGE = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${letter(1.25)}</svg>`;

async function write(name: string, svg: string, size: number): Promise<void> {
  const rendered = new Resvg(svg, { fitTo: { mode: "width", value: size } }).render().asPng();
  // resvg writes an unoptimised PNG; sharp's palette quantisation makes them a fraction of the size, losslessly enough for flat colours.
  const png = await sharp(rendered).png({ compressionLevel: 9, palette: true, quality: 100 }).toBuffer();
  fs.writeFileSync(path.join(OUT, name), png);
  console.log(`${name}: ${size}×${size}, ${png.length} bytes`);
}

fs.mkdirSync(OUT, { recursive: true });
await write("icon-192.png", ANY, 192);
await write("icon-512.png", ANY, 512);
await write("icon-maskable-512.png", MASKABLE, 512);
await write("apple-touch-icon.png", SQUARE, 180);
await write("badge-96.png", BADGE, 96);
fs.writeFileSync(path.join(OUT, "icon.svg"), `${ANY}\n`);
console.log("icon.svg");
