import sharp from "sharp";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError } from "../errors.js";

/**
 * Images at upload (issue 17 item 3), with sharp (libvips): what is served
 * is never the uploaded bytes but a re-encoding of the decoded pixels, so
 * that nothing the uploader put around or inside the image survives: EXIF
 * and XMP (GPS position, camera serial, thumbnails of the uncropped
 * original), comments, trailing bytes (a GIF with HTML appended: a
 * polyglot), and a thumbnail for the timeline.
 *
 * In order:
 * 1. the header alone (`metadata()`: width, height, frames) is read and an
 *    image over `maxPixels` (width × height × frames) is refused before a
 *    pixel is decoded: a 20,000 × 20,000 PNG of one colour is a few KiB
 *    on the wire and 1.6 GB decoded (a decompression bomb);
 *    `limitInputPixels` holds the same bound inside libvips;
 * 2. decoded (a truncated or corrupt image fails here: libvips stops at
 *    its first warning), turned upright by its EXIF orientation, and
 *    re-encoded in its own format (HEIC/HEIF as JPEG, which every browser
 *    shows) without metadata: sharp keeps none unless asked;
 * 3. a WebP thumbnail fitting 480 × 480 made from the re-encoded image.
 *
 * Animated GIF and WebP keep every frame, in the image and its thumbnail.
 */

/** The thumbnail's longest side at most, px. */
export const THUMBNAIL_MAX_PX = 480;

/** Formats whose frames are kept (an animation); other multi-page images (HEIF collections) are decoded at their first. */
const ANIMATED_TYPES: ReadonlySet<string> = new Set(["image/gif", "image/webp"]);

/** What `processImage` wrote. */
export interface ProcessedImage {
  /** The type of what was written to `out.file` (HEIC/HEIF: `image/jpeg`). */
  mime: string;
  /** Pixels, orientation applied (an animation: one frame's). */
  width: number;
  height: number;
  thumbnail: { width: number; height: number };
}

const tooLarge = (width: number, height: number, frames: number, maxPixels: number): AppError =>
  new AppError(
    ErrorCode.PayloadTooLarge,
    `The image is ${width} × ${height} pixels${frames > 1 ? ` × ${frames} frames` : ""}: over this server's ${maxPixels.toLocaleString("en")} pixels.`,
  );

const undecodable = (): AppError => new AppError(ErrorCode.UnsupportedMediaType, "The file is an image that does not decode: truncated or corrupt.");

/**
 * Checks, decodes and re-encodes the image `input` (sniffed as `mime`)
 * into `out.file`, and its thumbnail into `out.thumbnail`.
 * @throws AppError payload_too_large (over `maxPixels`, from the header), unsupported_media_type (the header or the pixels do not decode)
 */
export async function processImage(input: string, mime: string, out: { file: string; thumbnail: string }, opts: { maxPixels: number }): Promise<ProcessedImage> {
  let header: sharp.Metadata;
  try {
    // The header only, nothing decoded: without a pixel bound here, so that an image over it gets its own answer (413).
    header = await sharp(input, { limitInputPixels: false }).metadata();
  } catch {
    throw undecodable();
  }
  const { width, height } = header;
  if (!width || !height) throw undecodable();
  const animated = ANIMATED_TYPES.has(mime) && (header.pages ?? 1) > 1;
  const frames = animated ? (header.pages ?? 1) : 1;
  const frameHeight = animated ? (header.pageHeight ?? height) : height;
  if (width * frameHeight * frames > opts.maxPixels) throw tooLarge(width, frameHeight, frames, opts.maxPixels);

  const outMime = mime === "image/heic" || mime === "image/heif" ? "image/jpeg" : mime;
  // libvips counts every frame of an animation as one tall image: the same bound as above.
  const input_ = sharp(input, { animated, limitInputPixels: opts.maxPixels });
  // EXIF orientation is a still photo's; an animation has none to apply.
  const upright = animated ? input_ : input_.rotate();
  try {
    await encode(upright, outMime).toFile(out.file);
  } catch {
    throw undecodable();
  }
  const served = await sharp(out.file).metadata();
  await sharp(out.file, { animated, limitInputPixels: opts.maxPixels })
    .resize({ width: THUMBNAIL_MAX_PX, height: THUMBNAIL_MAX_PX, fit: "inside", withoutEnlargement: true })
    .webp({ quality: 80 })
    .toFile(out.thumbnail);
  const thumb = await sharp(out.thumbnail).metadata();
  return {
    mime: outMime,
    width: served.width ?? width,
    height: served.pageHeight ?? served.height ?? frameHeight,
    thumbnail: { width: thumb.width ?? 1, height: thumb.pageHeight ?? thumb.height ?? 1 },
  };
}

/** The re-encoder of a type: the same format, sharp's metadata left out (its default). */
function encode(image: sharp.Sharp, mime: string): sharp.Sharp {
  switch (mime) {
    case "image/png":
      return image.png();
    case "image/gif":
      return image.gif();
    case "image/webp":
      return image.webp({ quality: 85 });
    case "image/avif":
      // effort 2 of 9: AVIF's encoder is slow, and this runs on every upload.
      return image.avif({ quality: 60, effort: 2 });
    default:
      return image.jpeg({ quality: 85 });
  }
}
