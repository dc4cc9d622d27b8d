// Opens a dataset from the trainer's --dataset spec: a registered name (synthetic, template) or a folder in the
// pix2pix aligned format. New datasets register here (see template-dataset.ts).
import { AlignedDataset } from './aligned.js';
import type { DatasetOptions, PairDataset } from './dataset.js';
import { SyntheticDataset } from './synthetic.js';
import { TemplateDataset } from './template-dataset.js';

export type { DatasetOptions, Direction, PairBatch, PairDataset } from './dataset.js';
export { AlignedDataset, defaultLoadSize } from './aligned.js';
export { SyntheticDataset, classifyPalette, paletteDistances, paletteOf, MAX_CLASSES } from './synthetic.js';
export { TemplateDataset } from './template-dataset.js';
export { makeRng } from '../rng.js';

/** Datasets made in code, by name. A folder that happens to share a name is reached as ./name. */
const DATASETS: Record<string, (opts: DatasetOptions) => Promise<PairDataset>> = {
  synthetic: async (opts) => new SyntheticDataset(opts),
  template: async (opts) => new TemplateDataset(opts),
};

/**
 * `spec` is a registered name or a folder path (pix2pix aligned format). Throws GW_ERR_OPTION for bad options,
 * GW_ERR_DATASET_* and GW_ERR_IMAGE_* for a folder that cannot be used.
 */
export async function openDataset(spec: string, opts: DatasetOptions): Promise<PairDataset> {
  const make = Object.hasOwn(DATASETS, spec) ? DATASETS[spec] : undefined;
  if (make !== undefined) return make(opts);
  return AlignedDataset.open(spec, opts);
}
