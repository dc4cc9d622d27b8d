// A template for adding a dataset, in the spirit of pytorch-CycleGAN-and-pix2pix's template_dataset.py: a
// small dataset that works (`--dataset template`), with notes on what each part must do. Copy this file,
// rename the class, replace the drawing code with your loading code, and register it in ./index.ts.
//
// The example task is colourisation: B is a vertical gradient between two colours, A is B in grey. Many
// colour pairs share one grey ramp, so it is (mildly) multimodal, like the real thing.
//
// Rules every dataset follows (see ./dataset.ts):
//  - Batches are plain Float32Arrays, NHWC (count × size × size × 3), values in [-1, 1]. No tfjs here: the
//    trainer makes the tensors, and the dataset stays fast to test.
//  - trainBatch may augment, but only with draws from the `rng` it is given (never Math.random), so a run
//    with a seed is reproducible. valBatch is deterministic: the same indices give the same pixels every time.
//  - Problems the user can fix (missing folder, bad file, bad option) are thrown as gwError('GW_ERR_...')
//    from protocol/errors.ts, when the dataset opens rather than mid-training where possible.
//
// Registering: add one entry to DATASETS in ./index.ts, e.g.
//    template: async (opts) => new TemplateDataset(opts),
// and `openDataset('template', opts)` (the trainer's `--dataset template`) returns it.
import { allocBatch, checkIndices, checkInt, checkSize } from './dataset.js';
import type { DatasetOptions, PairBatch, PairDataset } from './dataset.js';
import { hashSeed, makeRng } from '../rng.js';

export class TemplateDataset implements PairDataset {
  // A short name: it labels the run in the dashboard.
  readonly name = 'template';
  // Side of every image the trainer receives; check it with checkSize so all datasets share one rule.
  readonly size: number;
  // Class labels (0..numClasses-1) colour the latent t-SNE plot; null when the data has no classes.
  readonly numClasses = null;
  // How many items each split holds; the trainer draws indices below these.
  readonly trainLength: number;
  readonly valLength: number;
  private readonly seed: number;

  // Keep the constructor cheap and synchronous. A dataset that must read files exposes a static async open()
  // instead (see AlignedDataset.open), so every file is checked before training starts.
  constructor(opts: DatasetOptions) {
    this.size = checkSize(opts.size);
    this.seed = checkInt('seed', opts.seed ?? 0, 0, 0xffffffff);
    this.trainLength = checkInt('trainCount', opts.trainCount ?? 256, 1, 1_000_000);
    this.valLength = checkInt('valCount', opts.valCount ?? 16, 1, 1_000_000);
  }

  // Training items, augmented: here a random vertical flip of both images, the same for A and B
  // (an augmentation must keep the pair aligned).
  async trainBatch(indices: readonly number[], rng: () => number): Promise<PairBatch> {
    checkIndices(indices, this.trainLength, 'train');
    const batch = allocBatch(indices.length, this.size, false);
    indices.forEach((index, n) => this.draw(1, index, batch, n, rng() < 0.5));
    return batch;
  }

  // Validation items: deterministic and not augmented, so validation scores compare across epochs.
  async valBatch(indices: readonly number[]): Promise<PairBatch> {
    checkIndices(indices, this.valLength, 'val');
    const batch = allocBatch(indices.length, this.size, false);
    indices.forEach((index, n) => this.draw(2, index, batch, n, false));
    return batch;
  }

  // Everything needed to rebuild the data: it is stored in the run's config.
  describe(): Record<string, unknown> {
    return { kind: 'template', size: this.size, seed: this.seed, trainCount: this.trainLength, valCount: this.valLength };
  }

  // Item `index` of a split is a pure function of (seed, split, index): two gradient colours, B the colour
  // ramp, A its luminance. Real datasets decode a file here (with a cache: see aligned.ts).
  private draw(split: number, index: number, batch: PairBatch, n: number, flip: boolean): void {
    const rng = makeRng(hashSeed(this.seed, split, index));
    const top = [rng(), rng(), rng()];
    const bottom = [rng(), rng(), rng()];
    const s = this.size;
    for (let y = 0; y < s; y++) {
      const t = (flip ? s - 1 - y : y) / (s - 1);
      const rgb = top.map((c, i) => c + t * (bottom[i]! - c));
      const grey = 0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!;
      for (let x = 0; x < s; x++) {
        const o = ((n * s + y) * s + x) * 3;
        for (let c = 0; c < 3; c++) {
          batch.b[o + c] = rgb[c]! * 2 - 1;
          batch.a[o + c] = grey * 2 - 1;
        }
      }
    }
  }
}
