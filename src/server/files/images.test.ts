import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import * as sample from "../../../test/support/sample-files.js";
import { AppError } from "../errors.js";
import { processImage, THUMBNAIL_MAX_PX } from "./images.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-images-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes `bytes` to a file of its own and processes it as `mime`; the outputs' paths beside it. */
async function run(bytes: Buffer, mime: string, maxPixels = 1_000_000) {
  const base = path.join(dir, String(n++));
  fs.writeFileSync(base, bytes);
  const out = { file: `${base}.out`, thumbnail: `${base}.thumb` };
  return { out, result: processImage(base, mime, out, { maxPixels }) };
}

/** The error `promise` rejects with, as an AppError. */
async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const err: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe("processImage", () => {
  it("re-encodes an image in its format and makes a WebP thumbnail that fits 480 × 480", async () => {
    const { out, result } = await run(await sample.png(960, 240), "image/png");
    expect(await result).toEqual({ mime: "image/png", width: 960, height: 240, thumbnail: { width: THUMBNAIL_MAX_PX, height: 120 } });
    expect(await sharp(out.file).metadata()).toMatchObject({ format: "png", width: 960, height: 240 });
    expect(await sharp(out.thumbnail).metadata()).toMatchObject({ format: "webp", width: 480, height: 120 });
  });

  it("turns a photo upright by its EXIF orientation and keeps no EXIF", async () => {
    const { out, result } = await run(await sample.sidewaysJpegWithGps(), "image/jpeg");
    expect(await result).toMatchObject({ mime: "image/jpeg", width: 40, height: 60 });
    const meta = await sharp(out.file).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
  });

  it("keeps every frame of an animation, in the image and its thumbnail", async () => {
    const { out, result } = await run(await sample.animatedGif(30, 20, 4), "image/gif");
    expect(await result).toMatchObject({ mime: "image/gif", width: 30, height: 20, thumbnail: { width: 30, height: 20 } });
    expect((await sharp(out.file).metadata()).pages).toBe(4);
    expect((await sharp(out.thumbnail).metadata()).pages).toBe(4);
  });

  it("refuses from the header an image over maxPixels, counting every frame, and writes nothing", async () => {
    const bomb = await run(await sample.pngClaiming(50_000, 50_000), "image/png");
    expect((await refusal(bomb.result)).code).toBe("payload_too_large");
    expect(fs.existsSync(bomb.out.file)).toBe(false);
    // 100 × 100 × 3 frames = 30,000 pixels: over 20,000, though one frame is not.
    const frames = await run(await sample.animatedGif(100, 100, 3), "image/gif", 20_000);
    expect((await refusal(frames.result)).code).toBe("payload_too_large");
    // At the bound: kept.
    await expect((await run(await sample.png(100, 100), "image/png", 10_000)).result).resolves.toMatchObject({ width: 100 });
  });

  it("refuses an image that does not decode: truncated, a bare signature, not an image at all", async () => {
    const whole = await sample.png(300, 300, "#204060");
    for (const [bytes, mime] of [
      [whole.subarray(0, Math.floor(whole.length / 2)), "image/png"],
      [sample.gifHeaderThenHtml(), "image/gif"],
      [sample.pdf(), "image/jpeg"],
    ] as const) {
      const { out, result } = await run(bytes, mime);
      expect((await refusal(result)).code).toBe("unsupported_media_type");
      expect(fs.existsSync(out.thumbnail)).toBe(false);
    }
  });
});
