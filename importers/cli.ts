// The `ganwatch import` command set (added to the CLI by server/cli.ts): bringing runs logged by other tools into a
// ganwatch server through its API. Each importer's code is loaded only when its command runs.
import { Command, Option } from 'commander';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export function importCommand(): Command {
  const cmd = new Command('import')
    .description('import runs logged by other tools into a running server')
    .exitOverride();
  cmd
    .command('tensorboard')
    .description(
      'import a TensorBoard log directory: each directory of event files becomes a run (scalars, PNG images, text)',
    )
    .argument('<logdir>', 'the log directory (as given to tensorboard --logdir)')
    .option('--follow', 'keep importing what is written, like TensorBoard reloading (until Ctrl-C)')
    .addOption(new Option('--server <url>', 'the ganwatch server').env('GANWATCH_SERVER').default(DEFAULT_SERVER))
    .addOption(new Option('--token <token>', "the server's write token").env('GANWATCH_TOKEN'))
    .option('--tags <list>', 'comma-separated tags for the runs it creates (besides "tensorboard")')
    .option('--samples-tag <tag>', "this image tag's images become the run's sample grids (media kind 'samples')")
    .option('--state <dir>', 'where import progress and unacknowledged data are kept', '.ganwatch-import')
    .option('--interval <seconds>', 'with --follow, seconds between looks at the directory', '2')
    .option('--json', 'report as one JSON object per line')
    .exitOverride()
    .action(async (logdir: string, options: import('./tensorboard/command.js').TensorBoardCommandOptions) => {
      const { importTensorBoard } = await import('./tensorboard/command.js');
      await importTensorBoard(logdir, options);
    });
  return cmd;
}
