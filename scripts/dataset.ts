// `npm run dataset -- synthetic --size 32 --out DIR [--count N --val-count M --classes K --seed S]`: writes the
// synthetic palettes set as pix2pix aligned pairs (DIR/train, DIR/val, DIR/labels.json) for trainers outside
// ganwatch, e.g. examples/pytorch-bicyclegan. Bad options give one GW_ERR_OPTION line and exit code 2.
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { gwError, isGanwatchError } from '../protocol/errors.js';
import { exportSynthetic } from '../trainer/data/export.js';

const KINDS = ['synthetic'] as const;

function integer(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n))
    throw gwError('GW_ERR_OPTION', `${flag} must be an integer, got '${raw}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('dataset')
    .description('Export a ganwatch dataset as pix2pix aligned PNG pairs with their class labels.')
    .argument('<kind>', `dataset to export: ${KINDS.join(', ')}`)
    .requiredOption('--out <dir>', 'output folder (absent or empty): train/, val/ and labels.json are written there')
    .requiredOption('--size <px>', 'image side, 32 to 256')
    .option('--count <n>', 'training inputs; each is written once per palette', '1024')
    .option('--val-count <n>', 'validation pairs (palette = index mod classes)', '64')
    .option('--classes <k>', 'number of palettes, the class labels (2 to 8)', '4')
    .option('--seed <s>', 'which shapes the items hold', '0')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      throw gwError('GW_ERR_OPTION', `${err.message.replace(/^error:\s*/, '')} (see --help)`);
    }
    throw err;
  }
  const kind = program.args[0] as string;
  if (!(KINDS as readonly string[]).includes(kind))
    throw gwError('GW_ERR_OPTION', `dataset kind must be one of ${KINDS.join(', ')}, got '${kind}'`);
  const o = program.opts<Record<string, string>>();
  const out = path.resolve(o.out as string);
  const result = await exportSynthetic(out, {
    size: integer('--size', o.size) as number,
    count: integer('--count', o.count),
    valCount: integer('--val-count', o.valCount),
    classes: integer('--classes', o.classes),
    seed: integer('--seed', o.seed),
  });
  const m = result.manifest;
  console.log(
    `dataset: ${result.trainFiles} training pairs (${m.train_inputs} inputs × ${m.classes} palettes) and ` +
      `${result.valFiles} validation pairs at ${m.size} px in ${out} (labels in labels.json)`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isGanwatchError(err)) {
      console.error(`dataset: ${err.code}: ${err.message}`);
      process.exit(2);
    }
    console.error('dataset: unexpected error (a bug; please report it with this trace):');
    console.error(err);
    process.exit(1);
  },
);
