// Image utilities of the trainer: [-1, 1] float images to and from 8-bit RGB, decoding, and the PNG grids of
// validation samples. Plain typed arrays in and out (no tfjs); sharp does all decoding and encoding.
import sharp from 'sharp';

/** An 8-bit RGB image, rows top to bottom, 3 bytes per pixel. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** [-1, 1] floats (any layout, 3 values a pixel) to bytes: round((v + 1) · 127.5), clamped; NaN becomes 0. */
export function toUint8Rgb(img: Float32Array): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let i = 0; i < img.length; i++) {
    const v = Math.round((img[i]! + 1) * 127.5);
    out[i] = v > 255 ? 255 : v >= 0 ? v : 0; // NaN fails both tests and lands on 0
  }
  return out;
}

/** Bytes to [-1, 1] floats: v / 127.5 − 1 (so 0 → −1, 255 → 1), written into `out` at `offset` when given. */
export function fromUint8Rgb(bytes: Uint8Array, out?: Float32Array, offset = 0): Float32Array {
  const dst = out ?? new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) dst[offset + i] = bytes[i]! / 127.5 - 1;
  return dst;
}

/** Decodes a PNG/JPEG (file path or bytes) to 8-bit RGB, dropping alpha and expanding grey. */
export async function decodeRgb(input: string | Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(input)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** Encodes a [-1, 1] float image (size × size × 3, or width × height × 3) as PNG. */
export async function encodePng(img: Float32Array, width: number, height = width): Promise<Buffer> {
  if (img.length !== width * height * 3)
    throw new RangeError(`image holds ${img.length} values, ${width * height * 3} expected`);
  return sharp(toUint8Rgb(img), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

export interface GridOptions {
  /** Side of every tile in pixels; each tile holds size × size × 3 floats. */
  size: number;
  /** Tiles per row; tiles fill rows left to right, top to bottom. */
  columns: number;
  /** Gap around and between tiles in pixels. Default 2. */
  padding?: number;
  /** Colour of the gaps and of empty cells (null tiles), RGB bytes. Default dark grey. */
  background?: readonly [number, number, number];
  /** Column headers, drawn in a band above the first row (e.g. 'input', 'target', 'encoded', 'z1'...). */
  labels?: readonly string[];
}

/** Height in pixels of the header band a grid gets when it has labels. */
export const GRID_HEADER_HEIGHT = 16;

/** Where tile i of a grid lands (its top-left pixel) and the grid's full size: the layout encodeGridPng draws. */
export function gridLayout(
  count: number,
  opts: GridOptions,
): {
  width: number;
  height: number;
  rows: number;
  tileOrigin(i: number): { x: number; y: number };
} {
  const { size, columns } = opts;
  const pad = opts.padding ?? 2;
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`grid tile size must be a positive integer, got ${size}`);
  if (!Number.isInteger(columns) || columns < 1)
    throw new RangeError(`grid columns must be a positive integer, got ${columns}`);
  if (!Number.isInteger(pad) || pad < 0)
    throw new RangeError(`grid padding must be a non-negative integer, got ${pad}`);
  const rows = Math.max(1, Math.ceil(count / columns));
  const header = opts.labels !== undefined && opts.labels.length > 0 ? GRID_HEADER_HEIGHT : 0;
  return {
    width: columns * size + (columns + 1) * pad,
    height: header + rows * size + (rows + 1) * pad,
    rows,
    tileOrigin: (i) => ({
      x: pad + (i % columns) * (size + pad),
      y: header + pad + Math.floor(i / columns) * (size + pad),
    }),
  };
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

function headerSvg(labels: readonly string[], width: number, opts: GridOptions, background: readonly number[]): Buffer {
  const pad = opts.padding ?? 2;
  const fontSize = 11;
  const texts = labels.slice(0, opts.columns).map((label, c) => {
    const x = pad + c * (opts.size + pad) + opts.size / 2;
    // A label wider than its column gets a smaller font, then loses its tail, rather than run into the next one.
    const charWidth = 0.6; // of the font size, for DejaVu Sans
    const px = Math.max(7, Math.min(fontSize, Math.floor(opts.size / (charWidth * Math.max(1, label.length)))));
    const maxChars = Math.max(1, Math.floor(opts.size / (charWidth * px)));
    const text = label.length > maxChars ? `${label.slice(0, Math.max(1, maxChars - 1))}…` : label;
    return `<text x="${x}" y="${GRID_HEADER_HEIGHT - 4}" font-size="${px}" text-anchor="middle">${escapeXml(text)}</text>`;
  });
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${GRID_HEADER_HEIGHT}">` +
      `<rect width="100%" height="100%" fill="rgb(${background.join(',')})"/>` +
      `<g font-family="DejaVu Sans, Arial, sans-serif" font-size="${fontSize}" fill="#e0e0e0">${texts.join('')}</g></svg>`,
  );
}

/**
 * Lays tiles ([-1, 1] floats, size × size × 3 each; null leaves a cell empty) out row-major into one PNG, e.g. a
 * validation grid with one row per input: input, target, encoded-z output, then the random-z outputs.
 */
export async function encodeGridPng(tiles: ReadonlyArray<Float32Array | null>, opts: GridOptions): Promise<Buffer> {
  const layout = gridLayout(tiles.length, opts);
  const { size } = opts;
  const [br, bg, bb] = opts.background ?? [24, 24, 24];
  const canvas = new Uint8Array(layout.width * layout.height * 3);
  for (let i = 0; i < canvas.length; i += 3) {
    canvas[i] = br;
    canvas[i + 1] = bg;
    canvas[i + 2] = bb;
  }
  const rowBytes = size * 3;
  tiles.forEach((tile, i) => {
    if (tile === null) return;
    if (tile.length !== size * size * 3) {
      throw new RangeError(`grid tile ${i} holds ${tile.length} values, ${size * size * 3} expected`);
    }
    const bytes = toUint8Rgb(tile);
    const { x, y } = layout.tileOrigin(i);
    for (let row = 0; row < size; row++) {
      canvas.set(bytes.subarray(row * rowBytes, (row + 1) * rowBytes), ((y + row) * layout.width + x) * 3);
    }
  });
  if (opts.labels !== undefined && opts.labels.length > 0) {
    // Rasterised on its own and copied in, so the grid stays a 3-channel PNG (compositing would add alpha).
    const header = await sharp(headerSvg(opts.labels, layout.width, opts, [br, bg, bb]))
      .removeAlpha()
      .raw()
      .toBuffer();
    canvas.set(header.subarray(0, layout.width * GRID_HEADER_HEIGHT * 3), 0);
  }
  return sharp(canvas, { raw: { width: layout.width, height: layout.height, channels: 3 } })
    .png()
    .toBuffer();
}
