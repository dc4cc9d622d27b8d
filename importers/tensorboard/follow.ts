// --follow: tails a log directory like TensorBoard's reloader, by polling. Each pass re-lists the run directories
// (new runs and new event files appear) and reads every file from its cursor to its current end; a half-written
// last record is left for the next pass (the reader treats files as growing while following).
import { setTimeout as wait } from 'node:timers/promises';
import type { TensorBoardImporter } from './import.js';

/** Passes until `signal` aborts: the first at once (then `caughtUp`), the next ones `intervalMs` after the last ended. */
export async function follow(
  importer: TensorBoardImporter,
  intervalMs: number,
  signal: AbortSignal,
  caughtUp: () => void,
): Promise<void> {
  await importer.pass();
  if (signal.aborted) return;
  caughtUp();
  while (!signal.aborted) {
    await wait(intervalMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    await importer.pass();
  }
}
