// Validation sample grids: every epoch reachable with a slider (not only the last few), column labels from the
// image's meta, a full-size view; with several runs, the grids of the same epoch side by side. In Compare, the one
// slider also drives a swipe and a difference image of two runs (sample-pair.ts), and every grid shares one zoom
// (wheel, drag, double-click a cell: linked-zoom.ts) whose cells come from the grid's meta (grid-cells.ts).
import type { MediaItem } from '../../../protocol/index.js';
import { api, withToken } from '../api.js';
import { h, notice, uid } from '../dom.js';
import type { ChartRun } from '../charts/metric-chart.js';
import { cellName, gridCells, type GridCells } from './grid-cells.js';
import { LinkedZoom, linkZoomView, type ZoomState, type ZoomViewOptions } from './linked-zoom.js';
import { SamplePair, type PairMode, type PairSnapshot } from './sample-pair.js';

export interface SamplesSnapshot {
  epochs: number[];
  index: number;
  epoch: number | null;
  images: Array<{ run: string; src: string | null }>;
  /** Compare only: the shared zoom, the cell at the centre of the view, the grid layout, and the two-run views. */
  zoom?: ZoomState;
  focus?: string | null;
  cells?: Pick<GridCells, 'rows' | 'columns' | 'tile' | 'padding' | 'header' | 'width' | 'height'> | null;
  pair?: PairSnapshot;
}

export interface SamplesOptions {
  /** Compare: the runs' configs (which tell whether two grids show the same inputs and z). */
  compare?: { configs: ReadonlyMap<string, Record<string, unknown>> };
}

/** Compare's shared zoom, its toolbar and the two-run views. */
interface CompareParts {
  zoom: LinkedZoom;
  pair: SamplePair;
  bar: HTMLElement;
  readout: HTMLElement;
}

const ZOOM_STEP = 1.5;

export class SamplesPanel {
  readonly el: HTMLElement;
  private readonly byRun = new Map<string, Map<number, MediaItem>>();
  private epochs: number[] = [];
  private index = -1;
  private readonly slider: HTMLInputElement;
  private readonly output: HTMLOutputElement;
  private readonly grids: HTMLElement;
  private status: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly dialog: HTMLDialogElement;
  private refetchTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly cmp: CompareParts | null;
  private cells: GridCells | null = null;
  private unlinks: Array<() => void> = [];

  constructor(
    private readonly runs: readonly ChartRun[],
    private readonly kind = 'samples',
    options: SamplesOptions = {},
  ) {
    const sliderId = uid('epoch-slider');
    this.slider = h('input', { id: sliderId, type: 'range', min: 0, max: 0, step: 1, value: 0, class: 'epoch-slider' });
    this.output = h('output', { for: sliderId, class: 'epoch-output', 'aria-live': 'polite' });
    this.slider.addEventListener('input', () => this.show(Number(this.slider.value)));
    const first = h('button', { type: 'button', 'aria-label': 'First epoch', onclick: () => this.show(0) }, '|◀');
    const prev = h(
      'button',
      { type: 'button', 'aria-label': 'Previous epoch', onclick: () => this.show(this.index - 1) },
      '◀',
    );
    const next = h(
      'button',
      { type: 'button', 'aria-label': 'Next epoch', onclick: () => this.show(this.index + 1) },
      '▶',
    );
    const last = h(
      'button',
      { type: 'button', 'aria-label': 'Latest epoch', onclick: () => this.show(this.epochs.length - 1) },
      '▶|',
    );
    this.controls = h(
      'div',
      { class: 'slider-row' },
      h('label', { for: sliderId }, 'Validation epoch'),
      first,
      prev,
      this.slider,
      next,
      last,
      this.output,
    );
    this.grids = h('div', { class: `sample-grids${runs.length > 1 ? ' multi' : ''}` });
    this.status = notice('loading', 'Loading sample grids…');
    this.dialog = h('dialog', { class: 'lightbox', 'aria-label': 'Sample grid, full size' });
    this.dialog.addEventListener('click', (ev) => {
      if (ev.target === this.dialog) this.dialog.close();
    });
    this.cmp = options.compare && runs.length >= 2 ? this.compareParts(options.compare.configs) : null;
    this.el = h(
      'div',
      { class: 'samples-panel' },
      this.status,
      this.controls,
      this.cmp ? [this.cmp.pair.controls, this.cmp.bar] : null,
      this.grids,
      this.cmp?.pair.body,
      this.dialog,
    );
    this.controls.hidden = true;
    if (this.cmp) this.cmp.bar.hidden = true;
  }

  private compareParts(configs: ReadonlyMap<string, Record<string, unknown>>): CompareParts {
    const zoom = new LinkedZoom();
    const onMode = (mode: PairMode): void => {
      this.grids.hidden = mode !== 'side';
    };
    const pair = new SamplePair(this.runs, configs, zoom, this.zoomOptions(), onMode);
    const readout = h('output', { class: 'zoom-readout', 'aria-live': 'polite' });
    const button = (label: string, text: string, fn: () => void): HTMLButtonElement =>
      h('button', { type: 'button', class: 'small', 'aria-label': label, onclick: fn }, text);
    const bar = h(
      'div',
      { class: 'zoom-bar', role: 'group', 'aria-label': 'Zoom of the sample grids' },
      button('Zoom into the grids', '+', () => zoom.zoomAt(0.5, 0.5, ZOOM_STEP)),
      button('Zoom out of the grids', '−', () => zoom.zoomAt(0.5, 0.5, 1 / ZOOM_STEP)),
      button('Show the whole grids', 'Whole grid', () => zoom.reset()),
      readout,
      h(
        'span',
        { class: 'zoom-hint' },
        'Wheel to zoom, drag to pan, double-click a cell to zoom onto it; all grids follow.',
      ),
    );
    zoom.listen((s) => {
      const focus = this.focusCell(s);
      readout.textContent = s.scale > 1.0001 ? `×${s.scale.toFixed(1)}${focus ? ` · ${focus}` : ''}` : 'whole grid';
    });
    return { zoom, pair, bar, readout };
  }

  private zoomOptions(): ZoomViewOptions {
    return {
      cellAt: (fx, fy) => {
        const cell = this.cells?.cellAt(fx, fy);
        return cell && this.cells ? this.cells.cellRect(cell.row, cell.column) : null;
      },
    };
  }

  /** The cell at the centre of the zoomed view, by name. */
  private focusCell(s: ZoomState): string | null {
    if (!this.cells || s.scale <= 1) return null;
    const c = this.cells.cellAt(s.x + 0.5 / s.scale, s.y + 0.5 / s.scale);
    return c ? cellName(this.cells, c.row, c.column) : null;
  }

  /** The layout of the shown grids, from the first whose meta and size (meta, or the loaded image) describe it. */
  private learnCells(item: MediaItem, img: HTMLImageElement): void {
    const fromMeta = gridCells(item.meta, Number(item.meta.width ?? 0), Number(item.meta.height ?? 0));
    if (fromMeta) {
      this.cells ??= fromMeta;
      return;
    }
    img.addEventListener('load', () => (this.cells ??= gridCells(item.meta, img.naturalWidth, img.naturalHeight)), {
      once: true,
    });
  }

  dispose(): void {
    for (const off of this.unlinks) off();
    this.unlinks = [];
    this.cmp?.pair.dispose();
  }

  async load(): Promise<void> {
    try {
      await Promise.all(this.runs.map((r) => this.loadRun(r.id)));
      this.rebuild(true);
    } catch (err) {
      this.status.replaceWith(
        (this.status = notice('error', `Could not load the sample grids: ${(err as Error).message}`)),
      );
    }
  }

  private async loadRun(run: string): Promise<void> {
    const items = await api.media(run, this.kind);
    const byEpoch = new Map<number, MediaItem>();
    // Several images of one epoch (a resumed run re-validating): keep the latest step.
    for (const m of items) {
      const had = byEpoch.get(m.epoch);
      if (!had || m.step >= had.step) byEpoch.set(m.epoch, m);
    }
    this.byRun.set(run, byEpoch);
  }

  /** A live `media` frame: re-reads that run's list (for the meta) and follows the newest epoch if it was shown. */
  mediaAdded(run: string, kind: string): void {
    if (kind !== this.kind || !this.runs.some((r) => r.id === run)) return;
    if (this.refetchTimer) return;
    this.refetchTimer = setTimeout(() => {
      this.refetchTimer = null;
      const atEnd = this.index === this.epochs.length - 1;
      void this.loadRun(run)
        .then(() => this.rebuild(atEnd))
        .catch(() => undefined);
    }, 150);
  }

  private rebuild(toLatest: boolean): void {
    const current = this.epochs[this.index];
    const all = new Set<number>();
    for (const m of this.byRun.values()) for (const e of m.keys()) all.add(e);
    this.epochs = [...all].sort((a, b) => a - b);
    if (this.epochs.length === 0) {
      this.status.replaceWith(
        (this.status = notice('empty', 'No sample grids yet: the trainer uploads one every validation epoch.')),
      );
      this.controls.hidden = true;
      if (this.cmp) this.cmp.bar.hidden = true;
      this.grids.replaceChildren();
      return;
    }
    this.status.hidden = true;
    this.controls.hidden = false;
    this.slider.max = String(this.epochs.length - 1);
    const keep = current === undefined ? -1 : this.epochs.indexOf(current);
    this.show(toLatest || keep < 0 ? this.epochs.length - 1 : keep);
  }

  private show(index: number): void {
    if (this.epochs.length === 0) return;
    this.index = Math.max(0, Math.min(this.epochs.length - 1, index));
    this.slider.value = String(this.index);
    const epoch = this.epochs[this.index]!;
    const steps = [...this.byRun.values()].map((m) => m.get(epoch)?.step).filter((s): s is number => s !== undefined);
    this.output.textContent = `epoch ${epoch}${steps.length ? ` · step ${Math.max(...steps)}` : ''} · ${this.index + 1} of ${this.epochs.length}`;
    this.slider.setAttribute('aria-valuetext', `epoch ${epoch}`);
    for (const off of this.unlinks) off();
    this.unlinks = [];
    this.cells = null;
    this.grids.replaceChildren(
      ...this.runs.map((r) => this.figure(r, this.byRun.get(r.id)?.get(epoch) ?? null, epoch)),
    );
    if (this.cmp) {
      this.cmp.bar.hidden = false;
      this.cmp.pair.update(epoch, (run) => this.byRun.get(run)?.get(epoch) ?? null);
    }
  }

  private figure(run: ChartRun, item: MediaItem | null, epoch: number): HTMLElement {
    const caption =
      this.runs.length > 1
        ? h(
            'figcaption',
            null,
            h('span', { class: 'swatch', style: `background:${run.color}`, 'aria-hidden': 'true' }),
            ' ',
            run.name,
          )
        : null;
    if (!item)
      return h('figure', { class: 'sample-figure missing' }, caption, notice('empty', `No grid at epoch ${epoch}.`));
    const labels = Array.isArray(item.meta.labels) ? (item.meta.labels as unknown[]).map(String) : [];
    const rows = typeof item.meta.rows === 'number' ? item.meta.rows : null;
    const src = withToken(item.url);
    const alt = `Sample grid of ${run.name} at epoch ${item.epoch}, step ${item.step}${labels.length ? `; columns: ${labels.join(', ')}` : ''}${rows ? `; ${rows} rows` : ''}`;
    const img = h('img', {
      src,
      alt,
      loading: this.cmp ? 'eager' : 'lazy',
      decoding: 'async',
      'data-epoch': item.epoch,
    });
    const open = this.cmp ? this.zoomView(item, img, src) : this.opener(img, src, alt);
    return h(
      'figure',
      { class: 'sample-figure', 'data-run': run.id },
      caption,
      // Shown above the image unless the image says it already has them drawn in (meta.labels_drawn).
      labels.length && item.meta.labels_drawn !== true
        ? h(
            'div',
            {
              class: 'col-labels',
              style: `grid-template-columns: repeat(${labels.length}, 1fr)`,
              'aria-hidden': 'true',
            },
            labels.map((l) => h('span', null, l)),
          )
        : null,
      open,
    );
  }

  /** Compare: the grid in a view that follows the shared zoom, with a link to the full-size image. */
  private zoomView(item: MediaItem, img: HTMLImageElement, src: string): HTMLElement {
    const cmp = this.cmp!;
    img.draggable = false;
    this.learnCells(item, img);
    const view = h('div', { class: 'sample-view' }, img);
    this.unlinks.push(linkZoomView(view, cmp.zoom, [img], this.zoomOptions()));
    return h(
      'div',
      null,
      view,
      h('a', { class: 'sample-full', href: src, target: '_blank', rel: 'noopener' }, 'Full size'),
    );
  }

  private opener(img: HTMLImageElement, src: string, alt: string): HTMLElement {
    return h(
      'button',
      {
        type: 'button',
        class: 'sample-open',
        'aria-label': `Open full size: ${alt}`,
        onclick: () => this.openFull(src, alt),
      },
      img,
    );
  }

  private openFull(src: string, alt: string): void {
    this.dialog.replaceChildren(
      h(
        'div',
        { class: 'lightbox-bar' },
        h('span', null, alt),
        h('a', { href: src, target: '_blank', rel: 'noopener' }, 'Open in a new tab'),
        h(
          'button',
          { type: 'button', onclick: () => this.dialog.close(), 'aria-label': 'Close full-size view' },
          'Close',
        ),
      ),
      h('div', { class: 'lightbox-body' }, h('img', { src, alt })),
    );
    this.dialog.showModal();
  }

  snapshot(): SamplesSnapshot {
    const epoch = this.epochs[this.index] ?? null;
    return {
      epochs: [...this.epochs],
      index: this.index,
      epoch,
      images: this.runs.map((r) => ({
        run: r.id,
        src: epoch === null ? null : (this.byRun.get(r.id)?.get(epoch)?.url ?? null),
      })),
      ...(this.cmp
        ? {
            zoom: this.cmp.zoom.state,
            focus: this.focusCell(this.cmp.zoom.state),
            cells: this.cells && {
              rows: this.cells.rows,
              columns: this.cells.columns,
              tile: this.cells.tile,
              padding: this.cells.padding,
              header: this.cells.header,
              width: this.cells.width,
              height: this.cells.height,
            },
            pair: this.cmp.pair.snapshot(),
          }
        : {}),
    };
  }
}
