// Writes the synthetic palettes set to disk in the pix2pix aligned format (one PNG per pair, A left | B right, in
// train/ and val/), with each pair's class in labels.json, so trainers outside ganwatch (the PyTorch example) train
// and validate on exactly the images `--dataset synthetic` draws. Every training input is written once per palette:
// drawing a file at random then gives an input with a uniformly random palette, as SyntheticDataset.trainBatch does.
import { mkdir, readdir, rename, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { gwError } from '../../protocol/errors.js';
import { toUint8Rgb } from '../images.js';
import type { PairBatch } from './dataset.js';
import { paletteOf, SyntheticDataset, syntheticConfig, type SyntheticConfig } from './synthetic.js';

/** What labels.json holds besides the labels: enough to classify outputs by palette (mode coverage). */
export interface ExportManifest {
  dataset: 'synthetic';
  format: 'pix2pix aligned: A (outline) left | B (filled shape) right, RGB PNG';
  size: number;
  classes: number;
  seed: number;
  train_inputs: number;
  val_count: number;
  /** Palette k's colours in [0, 1] (the class label k indexes this list). */
  palettes: { name: string; fg: number[]; bg: number[] }[];
  /** Class label of each file, by split and file name. */
  train: Record<string, number>;
  val: Record<string, number>;
}

export interface ExportResult {
  trainFiles: number;
  valFiles: number;
  manifest: ExportManifest;
}

/** Pairs encoded at once (sharp runs them on its own threads). */
const CONCURRENCY = 16;

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw gwError('GW_ERR_OPTION', `--out ${dir} cannot be read: ${(err as Error).message}`);
  }
}

/** Item i of a batch as one side-by-side PNG: A in the left half, B in the right. */
function pairPng(batch: PairBatch, i: number): Promise<Buffer> {
  const s = batch.size;
  const per = s * s * 3;
  const a = toUint8Rgb(batch.a.subarray(i * per, (i + 1) * per));
  const b = toUint8Rgb(batch.b.subarray(i * per, (i + 1) * per));
  const joined = new Uint8Array(per * 2);
  for (let y = 0; y < s; y++) {
    joined.set(a.subarray(y * s * 3, (y + 1) * s * 3), y * s * 6);
    joined.set(b.subarray(y * s * 3, (y + 1) * s * 3), y * s * 6 + s * 3);
  }
  return sharp(joined, { raw: { width: 2 * s, height: s, channels: 3 } })
    .png()
    .toBuffer();
}

const pad = (n: number): string => String(n).padStart(5, '0');

/** Writes the batch's items under `names` and records their class labels, in order. */
async function writeBatch(dir: string, batch: PairBatch, names: string[], labels: Record<string, number>) {
  const pngs = await Promise.all(names.map((_, i) => pairPng(batch, i)));
  await Promise.all(pngs.map((png, i) => writeFile(join(dir, names[i]!), png)));
  names.forEach((name, i) => (labels[name] = batch.labels![i]!));
}

/**
 * Exports the synthetic set into `out` (which must be empty or absent): train/NNNNN_kK.png for every training input
 * and palette K, val/NNNNN_kK.png for the validation items (palette = index mod classes, as `--dataset synthetic`
 * validates), and labels.json. Throws GW_ERR_OPTION for a bad option or a non-empty `out`, before writing anything.
 */
export async function exportSynthetic(
  out: string,
  opts: { size: number; classes?: number; seed?: number; count?: number; valCount?: number },
): Promise<ExportResult> {
  const config: SyntheticConfig = syntheticConfig({
    size: opts.size,
    classes: opts.classes,
    seed: opts.seed,
    trainCount: opts.count,
    valCount: opts.valCount,
  });
  if (!(await isEmptyOrMissing(out))) throw gwError('GW_ERR_OPTION', `--out ${out} is not empty`);
  const data = new SyntheticDataset(config);
  const K = config.classes;
  const manifest: ExportManifest = {
    dataset: 'synthetic',
    format: 'pix2pix aligned: A (outline) left | B (filled shape) right, RGB PNG',
    size: config.size,
    classes: K,
    seed: config.seed,
    train_inputs: config.trainCount,
    val_count: config.valCount,
    palettes: Array.from({ length: K }, (_, k) => {
      const p = paletteOf(k);
      return { name: p.name, fg: [...p.fg], bg: [...p.bg] };
    }),
    train: {},
    val: {},
  };
  // Written beside `out` under a temporary name and renamed at the end: a half-written export is never mistaken
  // for a whole one.
  const tmp = `${out}.partial-${process.pid}`;
  await mkdir(join(tmp, 'train'), { recursive: true });
  await mkdir(join(tmp, 'val'), { recursive: true });
  for (let i = 0; i < config.trainCount; i++) {
    const names = Array.from({ length: K }, (_, k) => `${pad(i)}_k${k}.png`);
    await writeBatch(join(tmp, 'train'), data.variants('train', i), names, manifest.train);
  }
  for (let j = 0; j < config.valCount; j += CONCURRENCY) {
    const indices = Array.from({ length: Math.min(CONCURRENCY, config.valCount - j) }, (_, t) => j + t);
    const batch = await data.valBatch(indices);
    await writeBatch(
      join(tmp, 'val'),
      batch,
      indices.map((index) => `${pad(index)}_k${index % K}.png`),
      manifest.val,
    );
  }
  await writeFile(join(tmp, 'labels.json'), JSON.stringify(manifest) + '\n');
  // `out` is absent or empty (checked above): an empty folder makes way for the finished export.
  await rmdir(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rename(tmp, out);
  return { trainFiles: config.trainCount * K, valFiles: config.valCount, manifest };
}
