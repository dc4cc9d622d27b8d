// Compare's two-run views of the sample grids: pick runs A and B, then Side by side (every run), Swipe or
// Difference. Swipe and Difference are offered only when A's and B's grids show the same inputs and z
// (sample-match.ts); otherwise the reason is shown and the grids stay side by side.
import type { MediaItem } from '../../../protocol/index.js';
import { withToken } from '../api.js';
import type { ChartRun } from '../charts/metric-chart.js';
import { h, uid } from '../dom.js';
import { DIFF_GAINS, SampleDiff, type DiffStats } from './sample-diff.js';
import { gridsMatch, type GridMatch } from './sample-match.js';
import { SampleSwipe } from './sample-swipe.js';
import type { LinkedZoom, ZoomViewOptions } from './linked-zoom.js';

export type PairMode = 'side' | 'swipe' | 'diff';

export interface PairSnapshot {
  mode: PairMode;
  a: string;
  b: string;
  match: GridMatch | null;
  divider: number;
  gain: number;
  swipeLoaded: boolean;
  diff: { a: string; b: string; stats: DiffStats } | null;
}

const MODES: ReadonlyArray<readonly [PairMode, string]> = [
  ['side', 'Side by side'],
  ['swipe', 'Swipe A | B'],
  ['diff', 'Difference |A − B|'],
];

export class SamplePair {
  readonly controls: HTMLElement;
  readonly body = h('div', { class: 'sample-pair-body' });
  private mode: PairMode = 'side';
  private a: string;
  private b: string;
  private gain: number = DIFF_GAINS[1];
  private match: GridMatch | null = null;
  private readonly selectA: HTMLSelectElement;
  private readonly selectB: HTMLSelectElement;
  private readonly radios = new Map<PairMode, HTMLInputElement>();
  private readonly gainBox: HTMLElement;
  private readonly reason = h('p', { class: 'pair-reason', role: 'status' });
  private readonly swipe: SampleSwipe;
  private readonly diff: SampleDiff;
  private last: { epoch: number; itemOf: (run: string) => MediaItem | null } | null = null;

  constructor(
    private readonly runs: readonly ChartRun[],
    private readonly configs: ReadonlyMap<string, Record<string, unknown>>,
    zoom: LinkedZoom,
    zoomOptions: ZoomViewOptions,
    private readonly onMode: (mode: PairMode) => void,
  ) {
    this.a = runs[0]!.id;
    this.b = runs[1]!.id;
    this.swipe = new SampleSwipe(zoom, zoomOptions);
    this.diff = new SampleDiff(zoom, zoomOptions);
    this.selectA = this.picker(
      'A',
      () => this.a,
      (id) => (this.a = id),
    );
    this.selectB = this.picker(
      'B',
      () => this.b,
      (id) => (this.b = id),
    );
    const name = uid('pair-mode');
    const modes = h(
      'fieldset',
      { class: 'pair-modes' },
      h('legend', null, 'View'),
      MODES.map(([mode, label]) => {
        const input = h('input', { type: 'radio', name, value: mode, checked: mode === this.mode });
        input.addEventListener('change', () => input.checked && this.setMode(mode));
        this.radios.set(mode, input);
        return h('label', null, input, ' ', label);
      }),
    );
    const gainSelect = h(
      'select',
      { 'aria-label': 'Amplify the difference' },
      DIFF_GAINS.map((g) => h('option', { value: g, selected: g === this.gain }, `×${g}`)),
    );
    gainSelect.addEventListener('change', () => {
      this.gain = Number(gainSelect.value);
      this.refresh();
    });
    this.gainBox = h('label', { class: 'pair-gain' }, 'Amplify ', gainSelect);
    this.controls = h(
      'div',
      { class: 'sample-pair-controls', role: 'group', 'aria-label': 'Compare two runs’ grids' },
      h('label', null, 'A ', this.selectA),
      h('label', null, 'B ', this.selectB),
      modes,
      this.gainBox,
      this.reason,
    );
  }

  get current(): PairMode {
    return this.mode;
  }

  /** The slider moved (or grids arrived): A's and B's grids of `epoch`. */
  update(epoch: number, itemOf: (run: string) => MediaItem | null): void {
    this.last = { epoch, itemOf };
    this.refresh();
  }

  setMode(mode: PairMode): void {
    this.mode = mode;
    const radio = this.radios.get(mode)!;
    if (!radio.checked) radio.checked = true;
    this.refresh();
  }

  private picker(which: 'A' | 'B', get: () => string, set: (id: string) => void): HTMLSelectElement {
    const select = h(
      'select',
      { 'aria-label': `Run ${which}`, 'data-pick': which },
      this.runs.map((r) => h('option', { value: r.id, selected: r.id === get() }, r.name)),
    );
    select.addEventListener('change', () => {
      set(select.value);
      this.refresh();
    });
    return select;
  }

  private refresh(): void {
    this.selectA.value = this.a;
    this.selectB.value = this.b;
    const last = this.last;
    const runA = this.runs.find((r) => r.id === this.a)!;
    const runB = this.runs.find((r) => r.id === this.b)!;
    const side = (run: ChartRun): { name: string; config: Record<string, unknown>; item: MediaItem | null } => ({
      name: run.name,
      config: this.configs.get(run.id) ?? {},
      item: last ? last.itemOf(run.id) : null,
    });
    this.match =
      last === null
        ? null
        : this.a === this.b
          ? { ok: false, reason: 'A and B are the same run: pick two runs' }
          : gridsMatch(side(runA), side(runB), last.epoch);
    const ok = this.match?.ok === true;
    for (const m of ['swipe', 'diff'] as const) this.radios.get(m)!.disabled = !ok;
    this.reason.replaceChildren(
      this.match === null
        ? ''
        : this.match.ok
          ? `Swipe and difference available: ${this.match.basis}.`
          : `Swipe and difference are off: ${this.match.reason}. They need two runs whose grids show the same validation inputs and z (the same dataset and seed).`,
    );
    this.reason.classList.toggle('pair-off', !ok);
    // Grids that cannot be overlaid fall back to side by side, visibly: the radio follows.
    if (!ok && this.mode !== 'side') {
      this.mode = 'side';
      this.radios.get('side')!.checked = true;
    }
    const mode = this.mode;
    this.gainBox.hidden = mode !== 'diff';
    this.onMode(mode);
    if (mode === 'side' || !last) return this.body.replaceChildren();
    const itemA = last.itemOf(this.a)!;
    const itemB = last.itemOf(this.b)!;
    if (mode === 'swipe') {
      this.swipe.show(
        { src: withToken(itemA.url), alt: altOf(runA, itemA), name: runA.name },
        { src: withToken(itemB.url), alt: altOf(runB, itemB), name: runB.name },
      );
      this.body.replaceChildren(this.swipe.el);
    } else {
      this.body.replaceChildren(this.diff.el);
      void this.diff.show({ url: itemA.url, name: runA.name }, { url: itemB.url, name: runB.name }, this.gain);
    }
  }

  snapshot(): PairSnapshot {
    return {
      mode: this.mode,
      a: this.a,
      b: this.b,
      match: this.match,
      divider: this.swipe.divider,
      gain: this.gain,
      swipeLoaded: this.swipe.loaded,
      diff: this.diff.snapshot(),
    };
  }

  dispose(): void {
    this.swipe.dispose();
    this.diff.dispose();
  }
}

function altOf(run: ChartRun, item: MediaItem): string {
  return `sample grid of ${run.name} at epoch ${item.epoch}, step ${item.step}`;
}
