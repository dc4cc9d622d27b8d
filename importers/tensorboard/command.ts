// `ganwatch import tensorboard LOGDIR`: checks the options, runs one import (or follows the directory until SIGINT or
// SIGTERM), and reports. Exit code 0; 1 when records were corrupt or truncated (the rest was imported); 2 for bad
// options or an unreachable server (through the CLI's error handling).
import Value from 'typebox/value';
import { Tag, gwError } from '../../protocol/index.js';
import { normalizeServer } from '../../clients/node/index.js';
import { DEFAULT_SERVER } from '../cli.js';
import { follow } from './follow.js';
import { TensorBoardImporter } from './import.js';
import { jsonReporter, textReporter } from './report.js';

export interface TensorBoardCommandOptions {
  follow?: boolean;
  server: string;
  token?: string;
  tags?: string;
  samplesTag?: string;
  state: string;
  interval: string;
  json?: boolean;
}

function parseTags(list: string | undefined): string[] {
  const tags = (list ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  for (const t of tags) {
    if (!Value.Check(Tag, t))
      throw gwError('GW_ERR_OPTION', `--tags: '${t}' is not a tag (1 to 64 characters, no control characters)`);
  }
  return tags;
}

function parseInterval(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw gwError('GW_ERR_OPTION', `--interval must be a number of seconds in (0, 3600] (got '${value}')`);
  }
  return seconds * 1000;
}

export async function importTensorBoard(logdir: string, o: TensorBoardCommandOptions): Promise<void> {
  const server = normalizeServer(o.server || DEFAULT_SERVER);
  const intervalMs = parseInterval(o.interval);
  const tags = parseTags(o.tags);
  const report = o.json ? jsonReporter(process.stdout) : textReporter(process.stdout, process.stderr);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const importer = TensorBoardImporter.open({
    logdir,
    server,
    token: o.token || undefined,
    tags,
    follow: Boolean(o.follow),
    stateDir: o.state,
    samplesTag: o.samplesTag ?? null,
    report,
    signal: controller.signal,
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let completed = false;
  try {
    if (o.follow) {
      await follow(importer, intervalMs, controller.signal, () =>
        report({ event: 'caught_up', totals: importer.summary }),
      );
    } else {
      await importer.pass();
      completed = true;
    }
  } finally {
    // A one-shot import that read everything marks its runs finished; one that failed or was stopped leaves them be.
    await importer.close(completed && importer.summary.runs > 0);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (completed && importer.summary.runs === 0) {
    throw gwError('GW_ERR_TB_LOGDIR', logdir, "holds no event files (files whose name contains 'tfevents')");
  }
  report({ event: 'summary', totals: importer.summary });
  if (importer.summary.problems > 0) process.exitCode = 1;
}
