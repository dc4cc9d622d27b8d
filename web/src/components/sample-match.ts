// Whether two runs' sample grids of one epoch may be swiped and differenced: they must show the same validation
// inputs with the same z, or a pixel difference means nothing. Known best from the grids' meta fingerprints
// (inputs_id, z_id, written by ganwatch's trainer); otherwise from the runs' configs (the same `dataset` and `seed`);
// and the grids must have one layout. When they do not match, the reason says which fact differs.
import type { MediaItem } from '../../../protocol/index.js';

export interface MatchSide {
  name: string;
  config: Record<string, unknown>;
  item: MediaItem | null;
}

export type GridMatch = { ok: true; basis: string } | { ok: false; reason: string };

/** The config keys that fix a grid's inputs and z when the meta has no fingerprints. */
export const MATCH_KEYS = ['dataset', 'seed'] as const;

const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function fingerprints(item: MediaItem): { inputs: string; z: string } | null {
  const { inputs_id: inputs, z_id: z } = item.meta;
  return typeof inputs === 'string' && typeof z === 'string' ? { inputs, z } : null;
}

function layoutOf(item: MediaItem): string | null {
  const { rows, columns, tile } = item.meta;
  return typeof rows === 'number' && typeof columns === 'number' ? `${rows}×${columns} of ${shown(tile)} px` : null;
}

export function gridsMatch(a: MatchSide, b: MatchSide, epoch: number): GridMatch {
  for (const side of [a, b]) if (!side.item) return { ok: false, reason: `${side.name} has no grid at epoch ${epoch}` };
  const [ia, ib] = [a.item!, b.item!];
  const [la, lb] = [layoutOf(ia), layoutOf(ib)];
  if (la !== null && lb !== null && la !== lb)
    return { ok: false, reason: `the grids have different layouts: ${la} vs ${lb}` };
  const [fa, fb] = [fingerprints(ia), fingerprints(ib)];
  if (fa && fb) {
    if (fa.inputs !== fb.inputs)
      return {
        ok: false,
        reason: `the grids show different validation inputs (inputs_id ${fa.inputs} vs ${fb.inputs})`,
      };
    if (fa.z !== fb.z) return { ok: false, reason: `the grids use different z (z_id ${fa.z} vs ${fb.z})` };
    return { ok: true, basis: 'the grids’ meta fingerprint the same inputs and z (inputs_id, z_id)' };
  }
  for (const key of MATCH_KEYS) {
    for (const side of [a, b])
      if (side.config[key] === undefined)
        return { ok: false, reason: `${side.name} records no ${key} in its config, so its grid’s inputs are unknown` };
    const [va, vb] = [a.config[key], b.config[key]];
    if (JSON.stringify(va) !== JSON.stringify(vb))
      return { ok: false, reason: `their ${key} differs: ${shown(va)} vs ${shown(vb)}` };
  }
  return { ok: true, basis: `same ${MATCH_KEYS.join(' and ')} in their configs` };
}
