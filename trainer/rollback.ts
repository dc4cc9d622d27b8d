// The `rollback` control's work on the model: find and read the checkpoint it names (refusing one whose weights are not
// finite, as a checkpoint saved after a divergence is), and after the restore apply the control's lr, λ and clipping
// overrides. The loop (trainer/loop.ts) restores its own state and moves the monitor to the child run.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { gwError } from '../protocol/errors.js';
import { LAMBDAS, type RollbackArgs } from '../protocol/controls.js';
import { MANIFEST_FILE, readCheckpoint, type CheckpointInfo } from './checkpoint.js';
import type { LoopState } from './loop.js';
import { lrTargets, type BicycleGAN, type ModelState, type NetName } from './models/bicyclegan.js';

/** A checkpoint read into memory and checked, ready to import: nothing of the run has changed yet. */
export interface RollbackSource {
  dir: string;
  info: CheckpointInfo;
  state: ModelState;
  loop: LoopState;
}

const fmt = (n: number): string => Number(n.toPrecision(6)).toString();

/**
 * Reads `<checkpointDir>/<which>` whole and checks it. Throws GW_ERR_CHECKPOINT naming the problem: no such
 * checkpoint yet, corrupt, not saved by this trainer, or holding NaN/Infinity.
 */
export async function readRollbackSource(checkpointDir: string, which: 'latest' | 'best'): Promise<RollbackSource> {
  const dir = path.join(checkpointDir, which);
  if (!existsSync(path.join(dir, MANIFEST_FILE))) {
    const when =
      which === 'latest'
        ? 'one is saved every --checkpoint-every epochs and by the checkpoint control'
        : 'one is saved at each validation that improves the early-stopping metric';
    throw gwError('GW_ERR_CHECKPOINT', dir, `no ${which} checkpoint saved yet (${when})`);
  }
  const { info, state } = await readCheckpoint(dir, { requireFinite: true });
  const loop = info.extra.trainer as LoopState | undefined;
  if (!loop || typeof loop !== 'object' || !Array.isArray(loop.rngState) || !Array.isArray(loop.epochRngState)) {
    throw gwError('GW_ERR_CHECKPOINT', dir, 'it holds no trainer state (was it saved by `npm run train`?)');
  }
  return { dir, info, state, loop };
}

/**
 * The control's overrides, applied to the restored model: `lr_factor` scales every lr, then `lr` sets the nets it
 * names (so the factor applies to the others), `lambda` sets λs, `max_norm` sets clipping. Returns what changed, as
 * phrases for the answer.
 */
export function applyRollbackOverrides(model: BicycleGAN, args: RollbackArgs): string[] {
  const changes: string[] = [];
  if (args.lr_factor !== undefined) {
    for (const net of ['G', 'E', 'D'] as const) model.scaleLr(net, args.lr_factor); // 'D' scales D2 too
    const named = new Set(Object.keys(args.lr ?? {}).flatMap((n) => lrTargets(n as NetName)));
    const scaled = (['G', 'E', 'D', 'D2'] as const).filter((n) => !named.has(n));
    if (scaled.length)
      changes.push(`lr ${scaled.map((n) => `${n} ${fmt(model.getLr(n))}`).join(', ')} (×${fmt(args.lr_factor)})`);
  }
  for (const [net, value] of Object.entries(args.lr ?? {}) as [NetName, number][]) {
    model.setLr(net, value);
    changes.push(`lr ${lrTargets(net).join(' and ')} = ${fmt(value)}`);
  }
  for (const name of LAMBDAS) {
    const value = args.lambda?.[name];
    if (value === undefined) continue;
    model.setLambda(name, value);
    changes.push(`lambda ${name} = ${fmt(value)}`);
  }
  if (args.max_norm !== undefined) {
    model.setClip(args.max_norm);
    changes.push(args.max_norm === 0 ? 'clipping off' : `clipping at norm ${fmt(args.max_norm)}`);
  }
  return changes;
}
