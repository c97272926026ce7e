import { crc32 } from "node:zlib";
import sharp from "sharp";

/**
 * Real bytes of each kind of file an upload may carry, made here rather
 * than kept as binary fixtures: images with sharp, the rest by their
 * formats' own headers (a stored ZIP, an office document, an EBML header,
 * an Ogg page, an MP4 `ftyp` box), which is all a sniffer reads.
 */

/** A PNG of one colour. */
export function png(width = 64, height = 48, background = "#c03030"): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();
}

/** A WebP of one colour. */
export function webp(width = 40, height = 30): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: "#3050c0" } }).webp().toBuffer();
}

/** An AVIF of one colour (small: AVIF encodes slowly). */
export function avif(width = 24, height = 16): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: "#30c050" } }).avif({ effort: 0 }).toBuffer();
}

/** A still GIF of one colour. */
export function gif(width = 20, height = 10): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: "#808000" } }).gif().toBuffer();
}

/** An animated GIF of `frames` frames of different colours. */
export async function animatedGif(width = 32, height = 24, frames = 3): Promise<Buffer> {
  const colours = ["#ff0000", "#00ff00", "#0000ff", "#ffff00"];
  const pages = await Promise.all(
    Array.from({ length: frames }, (_, i) => sharp({ create: { width, height, channels: 3, background: colours[i % colours.length]! } }).png().toBuffer()),
  );
  return sharp(pages, { join: { animated: true } }).gif({ loop: 0, delay: Array.from({ length: frames }, () => 100) }).toBuffer();
}

/**
 * A JPEG stored sideways: its pixels 60 wide and 40 high, the left half
 * red and the right half blue, with EXIF orientation 6 (turn 90° clockwise
 * to show it) and a GPS position; shown upright it is 40 × 60, red on top.
 */
export function sidewaysJpegWithGps(): Promise<Buffer> {
  const red = { create: { width: 30, height: 40, channels: 3 as const, background: "#ff0000" } };
  return sharp({ create: { width: 60, height: 40, channels: 3, background: "#0000ff" } })
    .composite([{ input: red, left: 0, top: 0 }])
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Copyright: "Parley test" }, IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 2400/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 300/100" } })
    .toBuffer();
}

/**
 * A PNG whose header claims `width` × `height` but holds the pixels of a
 * 1 × 1 image: a decoder that trusted the header would allocate for all
 * of them (a decompression bomb), yet the file is under 100 bytes.
 */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await png(1, 1));
  // IHDR is the first chunk: length (4) and type (4) after the 8-byte signature, then width and height.
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)), 29);
  return bytes;
}

/** A minimal PDF (file-type reads its `%PDF-` signature). */
export const pdf = (): Buffer => Buffer.from("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n", "latin1");

/** A ZIP archive of `entries`, stored (no compression), with its central directory (PKWARE APPNOTE 4.3). */
export function zip(entries: { name: string; data: string | Buffer }[]): Buffer {
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, "utf8");
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data, "utf8");
    const crc = crc32(data);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4); // version needed
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(data.length, 18);
    head.writeUInt32LE(data.length, 22);
    head.writeUInt16LE(name.length, 26);
    local.push(head, name, data);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, name);
    offset += head.length + name.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, directory, end]);
}

/** A Word document (.docx): a ZIP whose [Content_Types].xml names the WordprocessingML main part. */
export function docx(): Buffer {
  const types =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>';
  return zip([
    { name: "[Content_Types].xml", data: types },
    { name: "word/document.xml", data: '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>' },
  ]);
}

/** One EBML element: id, size as a 1-byte vint, data. */
function ebml(id: number[], data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(id), Buffer.from([0x80 | data.length]), data]);
}

/** The start of a WebM file (as MediaRecorder writes): its EBML header (DocType `webm`), then a Segment of unknown size. */
export function webmHead(): Buffer {
  const header = Buffer.concat([
    ebml([0x42, 0x86], Buffer.from([1])), // EBMLVersion
    ebml([0x42, 0xf7], Buffer.from([1])), // EBMLReadVersion
    ebml([0x42, 0xf2], Buffer.from([4])), // EBMLMaxIDLength
    ebml([0x42, 0xf3], Buffer.from([8])), // EBMLMaxSizeLength
    ebml([0x42, 0x82], Buffer.from("webm")), // DocType
    ebml([0x42, 0x87], Buffer.from([4])), // DocTypeVersion
    ebml([0x42, 0x85], Buffer.from([2])), // DocTypeReadVersion
  ]);
  const segment = Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  return Buffer.concat([ebml([0x1a, 0x45, 0xdf, 0xa3], header), segment, Buffer.alloc(64)]);
}

/** The first page of an Ogg Opus stream (RFC 7845): the OggS page header and the OpusHead packet. */
export function oggOpusHead(): Buffer {
  const head = Buffer.alloc(19);
  head.write("OpusHead", 0, "latin1");
  head.writeUInt8(1, 8); // version
  head.writeUInt8(1, 9); // channels
  head.writeUInt16LE(312, 10); // pre-skip
  head.writeUInt32LE(48000, 12); // input sample rate
  const page = Buffer.alloc(27);
  page.write("OggS", 0, "latin1");
  page.writeUInt8(2, 5); // beginning of stream
  page.writeUInt32LE(0x5041524c, 14); // serial
  page.writeUInt8(1, 26); // one segment
  return Buffer.concat([page, Buffer.from([head.length]), head, Buffer.alloc(64)]);
}

/** The start of an MP4 file: an `ftyp` box (brand isom) and an empty `mdat`. */
export function mp4Head(): Buffer {
  const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypisom", "latin1"), Buffer.from([0, 0, 2, 0]), Buffer.from("isommp41", "latin1")]);
  return Buffer.concat([ftyp, Buffer.from([0, 0, 0, 8]), Buffer.from("mdat", "latin1"), Buffer.alloc(64)]);
}

export const html = (): Buffer => Buffer.from('<!doctype html><html><body><script>document.title = "pwned"</script></body></html>\n');
export const svg = (): Buffer => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><script>alert(2)</script></svg>\n');
export const text = (): Buffer => Buffer.from("Meeting notes\n- bring the slides\n");
/** Bytes no sniffer knows. */
export const unknownBytes = (): Buffer => Buffer.from([0x00, 0x13, 0x37, 0x00, 0x50, 0x61, 0x72, 0x6c, 0x65, 0x79, 0xfe, 0xed, 0x00, 0x00, 0x01, 0x02]);
/** A GIF's signature followed by HTML: a polyglot that a browser sniffing it could take for a page. */
export const gifHeaderThenHtml = (): Buffer => Buffer.concat([Buffer.from("GIF89a", "latin1"), html()]);
