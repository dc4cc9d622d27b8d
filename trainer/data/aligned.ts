// The pix2pix "aligned" format: one image per pair, A = left half | B = right half, in <root>/train and
// <root>/val (or <root>/test). Training preprocessing follows pix2pix's resize_and_crop: each half resized
// (bicubic) to loadSize², one random size² crop and one random horizontal flip shared by A and B. Validation
// resizes each half straight to size² (the whole picture, no crop, no flip), so it is deterministic.
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import sharp from 'sharp';
import { gwError, isGanwatchError } from '../../protocol/errors.js';
import { allocBatch, checkIndices, checkInt, checkSize } from './dataset.js';
import type { DatasetOptions, Direction, PairBatch, PairDataset } from './dataset.js';

const IMAGE_FILE = /\.(jpe?g|png)$/i;
/** Smallest half (width and height) accepted: anything smaller is not a picture pair. */
export const MIN_HALF = 16;
const MAX_LOAD_SIZE = 1024;

/** One image file of a split, with the size its header declares. */
interface PairFile {
  path: string;
  width: number;
  height: number;
}

/** Both halves of a pair at side × side, 8-bit RGB, left and right as stored (direction is applied later). */
interface Halves {
  left: Uint8Array;
  right: Uint8Array;
  side: number;
}

/** Default load size for a crop size: round(size × 1.125), pix2pix's 286/256 ratio. */
export function defaultLoadSize(size: number): number {
  return Math.round(size * 1.125);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function detailOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error';
}

/** The split's image files, checked from their headers: decodable, even width, halves at least MIN_HALF. */
async function listSplit(dir: string): Promise<PairFile[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && IMAGE_FILE.test(e.name))
    .map((e) => e.name)
    .sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
  if (names.length === 0) throw gwError('GW_ERR_DATASET_EMPTY', dir);
  const files: PairFile[] = [];
  // Headers only (no pixel decode), a few at a time: cheap enough to check every file before training starts.
  const chunk = 16;
  for (let i = 0; i < names.length; i += chunk) {
    const part = await Promise.all(names.slice(i, i + chunk).map((name) => checkHeader(join(dir, name))));
    files.push(...part);
  }
  return files;
}

async function checkHeader(path: string): Promise<PairFile> {
  let width: number | undefined;
  let height: number | undefined;
  try {
    const meta = await sharp(path).metadata();
    width = meta.width;
    height = meta.height;
  } catch (err) {
    throw gwError('GW_ERR_IMAGE_CORRUPT', path, detailOf(err));
  }
  if (width === undefined || height === undefined || width <= 0 || height <= 0) {
    throw gwError('GW_ERR_IMAGE_CORRUPT', path, 'the header holds no image size');
  }
  if (width % 2 !== 0) {
    throw gwError('GW_ERR_IMAGE_SIZE', path, `${width}×${height}: the width must be even, A and B side by side`);
  }
  if (width / 2 < MIN_HALF || height < MIN_HALF) {
    throw gwError('GW_ERR_IMAGE_SIZE', path, `${width}×${height}: each half must be at least ${MIN_HALF}×${MIN_HALF} pixels`);
  }
  return { path, width, height };
}

/** Decodes a pair once and resizes each half (bicubic, aspect ratio not kept) to side × side. */
async function loadHalves(file: PairFile, side: number): Promise<Halves> {
  try {
    const { data, info } = await sharp(file.path)
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width % 2 !== 0 || info.width !== file.width || info.height !== file.height) {
      throw gwError('GW_ERR_IMAGE_SIZE', file.path, `decoded ${info.width}×${info.height}, header said ${file.width}×${file.height}`);
    }
    const raw = { width: info.width, height: info.height, channels: info.channels };
    const half = info.width / 2;
    const resizeHalf = (left: number) =>
      sharp(data, { raw })
        .extract({ left, top: 0, width: half, height: info.height })
        .resize(side, side, { fit: 'fill', kernel: 'cubic' })
        .raw()
        .toBuffer();
    const [left, right] = await Promise.all([resizeHalf(0), resizeHalf(half)]);
    return { left, right, side };
  } catch (err) {
    if (isGanwatchError(err)) throw err;
    throw gwError('GW_ERR_IMAGE_CORRUPT', file.path, detailOf(err));
  }
}

/** A least-recently-used cache of decoded halves under a byte budget; holds promises so one file decodes once. */
class HalvesCache {
  private readonly entries = new Map<string, { value: Promise<Halves>; bytes: number }>();
  private bytes = 0;
  constructor(private readonly budget: number) {}

  get(key: string, bytes: number, load: () => Promise<Halves>): Promise<Halves> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = load();
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    // A failed decode must not stay cached: the next epoch retries it (and fails with the same clear error).
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.drop(key);
    });
    while (this.bytes > this.budget && this.entries.size > 1) {
      const oldest = this.entries.keys().next().value as string;
      this.drop(oldest);
    }
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }
}

export interface AlignedConfig {
  size: number;
  loadSize: number;
  direction: Direction;
  noFlip: boolean;
  cacheMegabytes: number;
}

export function alignedConfig(opts: DatasetOptions): AlignedConfig {
  const size = checkSize(opts.size);
  const loadSize = checkInt('loadSize', opts.loadSize ?? defaultLoadSize(size), size, MAX_LOAD_SIZE);
  const direction = opts.direction ?? 'AtoB';
  if (direction !== 'AtoB' && direction !== 'BtoA') {
    throw gwError('GW_ERR_OPTION', `direction must be AtoB or BtoA, got ${String(direction)}`);
  }
  const cacheMegabytes = checkInt('cacheMegabytes', opts.cacheMegabytes ?? 128, 0, 65536);
  return { size, loadSize, direction, noFlip: opts.noFlip ?? false, cacheMegabytes };
}

export class AlignedDataset implements PairDataset {
  readonly name: string;
  readonly size: number;
  readonly numClasses = null;
  readonly loadSize: number;
  readonly direction: Direction;
  readonly noFlip: boolean;
  private readonly cache: HalvesCache;

  private constructor(
    readonly root: string,
    readonly trainFiles: readonly PairFile[],
    readonly valFiles: readonly PairFile[],
    /** The folder validation reads: 'val', or 'test' when there is no val/. */
    readonly valSplit: 'val' | 'test',
    config: AlignedConfig,
  ) {
    this.name = basename(root);
    this.size = config.size;
    this.loadSize = config.loadSize;
    this.direction = config.direction;
    this.noFlip = config.noFlip;
    this.cache = new HalvesCache(config.cacheMegabytes * 1024 * 1024);
  }

  /** Opens `<root>/train` and `<root>/val` (or `<root>/test`), checking every file's header up front. */
  static async open(root: string, opts: DatasetOptions): Promise<AlignedDataset> {
    const config = alignedConfig(opts);
    const dir = resolve(root);
    if (!(await isDirectory(dir))) throw gwError('GW_ERR_DATASET_MISSING', dir);
    const trainDir = join(dir, 'train');
    if (!(await isDirectory(trainDir))) throw gwError('GW_ERR_DATASET_MISSING', trainDir);
    let valSplit: 'val' | 'test' = 'val';
    if (!(await isDirectory(join(dir, 'val')))) {
      if (!(await isDirectory(join(dir, 'test')))) throw gwError('GW_ERR_DATASET_MISSING', join(dir, 'val'));
      valSplit = 'test';
    }
    const trainFiles = await listSplit(trainDir);
    const valFiles = await listSplit(join(dir, valSplit));
    return new AlignedDataset(dir, trainFiles, valFiles, valSplit, config);
  }

  get trainLength(): number {
    return this.trainFiles.length;
  }

  get valLength(): number {
    return this.valFiles.length;
  }

  /** Number of decoded pairs held in the cache (for tests and diagnostics). */
  get cachedPairs(): number {
    return this.cache.size;
  }

  async trainBatch(indices: readonly number[], rng: () => number): Promise<PairBatch> {
    checkIndices(indices, this.trainLength, 'train');
    const span = this.loadSize - this.size + 1;
    // Draw every item's crop and flip before any await, so the rng sequence never depends on decode timing.
    const draws = indices.map(() => {
      const x = Math.min(span - 1, Math.floor(rng() * span));
      const y = Math.min(span - 1, Math.floor(rng() * span));
      const flip = rng() < 0.5 && !this.noFlip;
      return { x, y, flip };
    });
    const halves = await Promise.all(indices.map((i) => this.halves('train', i, this.loadSize)));
    const batch = allocBatch(indices.length, this.size, false);
    halves.forEach((h, n) => {
      const d = draws[n]!;
      this.writePair(h, batch, n, d.x, d.y, d.flip);
    });
    return batch;
  }

  async valBatch(indices: readonly number[]): Promise<PairBatch> {
    checkIndices(indices, this.valLength, 'val');
    const halves = await Promise.all(indices.map((i) => this.halves('val', i, this.size)));
    const batch = allocBatch(indices.length, this.size, false);
    halves.forEach((h, n) => this.writePair(h, batch, n, 0, 0, false));
    return batch;
  }

  describe(): Record<string, unknown> {
    return {
      kind: 'aligned',
      name: this.name,
      root: this.root,
      trainCount: this.trainLength,
      valCount: this.valLength,
      valSplit: this.valSplit,
      size: this.size,
      loadSize: this.loadSize,
      direction: this.direction,
      flip: !this.noFlip,
      trainPreprocess: `resize each half to ${this.loadSize}² (bicubic), shared random ${this.size}² crop${this.noFlip ? '' : ' and horizontal flip'}`,
      valPreprocess: `resize each half to ${this.size}² (bicubic), no crop, no flip`,
    };
  }

  private halves(split: 'train' | 'val', index: number, side: number): Promise<Halves> {
    const file = (split === 'train' ? this.trainFiles : this.valFiles)[index]!;
    return this.cache.get(`${split}:${index}:${side}`, side * side * 6, () => loadHalves(file, side));
  }

  /** Copies the size² window at (x0, y0) of both halves, optionally mirrored, into item n as [-1, 1] floats. */
  private writePair(h: Halves, batch: PairBatch, n: number, x0: number, y0: number, flip: boolean): void {
    const [srcA, srcB] = this.direction === 'AtoB' ? [h.left, h.right] : [h.right, h.left];
    const s = this.size;
    const base = n * s * s * 3;
    for (let y = 0; y < s; y++) {
      const srcRow = (y0 + y) * h.side;
      for (let x = 0; x < s; x++) {
        const si = (srcRow + x0 + (flip ? s - 1 - x : x)) * 3;
        const di = base + (y * s + x) * 3;
        batch.a[di] = srcA[si]! / 127.5 - 1;
        batch.a[di + 1] = srcA[si + 1]! / 127.5 - 1;
        batch.a[di + 2] = srcA[si + 2]! / 127.5 - 1;
        batch.b[di] = srcB[si]! / 127.5 - 1;
        batch.b[di + 1] = srcB[si + 1]! / 127.5 - 1;
        batch.b[di + 2] = srcB[si + 2]! / 127.5 - 1;
      }
    }
  }
}
