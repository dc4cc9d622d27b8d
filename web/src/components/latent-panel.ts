// The latent space: a 2-D scatter of the encoder's μ codes at one validation epoch, coloured by class label, from the
// server's projection (t-SNE, PCA or UMAP; computed and cached there: the bundle carries no PCA of its own).
// Both axes have the same units; they stay put while the epochs' layouts are of a similar size, so moving the slider
// shows the codes move, and are fitted again when a layout's extent changes more than ×2 (see charts/scatter-view.ts).
import type { ProjectionContinuity } from '../../../protocol/index.js';
import { api, ApiError, type ProjectionMethod } from '../api.js';
import {
  Chart,
  datasetInfo,
  registerCharts,
  STATIC_LINE_OPTIONS,
  type GwDataset,
  type GwPoint,
} from '../charts/chart-setup.js';
import { RUN_COLORS } from '../charts/colors.js';
import { boundsOf, equalUnitRanges, nextView, type Box, type ScatterView } from '../charts/scatter-view.js';
import { h, notice, uid } from '../dom.js';
import { fmtValue } from '../format.js';
import { API_PREFIX } from '../../../protocol/wire.js';

const METHODS: Array<[ProjectionMethod, string]> = [
  ['tsne', 't-SNE'],
  ['pca', 'PCA'],
  ['umap', 'UMAP'],
];
const PENDING_RETRY_MS = 1500;
/** Fixed axis sizes, so the plot area (and with it the units per pixel) does not depend on the tick labels. */
const Y_AXIS_WIDTH = 64;
const X_AXIS_HEIGHT = 30;

/** The axes as drawn: their ranges, and how many pixels one data unit takes along each. */
export interface ScatterAxes {
  x: [number, number];
  y: [number, number];
  pxPerUnit: { x: number; y: number };
}

export interface LatentSnapshot {
  epochs: number[];
  epoch: number | null;
  method: ProjectionMethod;
  source: 'server' | null;
  status: string;
  points: number;
  classes: number[];
  /** The region the axes were fitted to show (before widening one axis for equal units). */
  bounds: Box | null;
  axes: ScatterAxes | null;
}

export class LatentPanel {
  readonly el: HTMLElement;
  private epochs: number[] = [];
  private index = -1;
  private method: ProjectionMethod = 'tsne';
  /** Whether GET /runs/:id/projections exists on this server (unknown until first asked). */
  private serverProjects: boolean | null = null;
  private source: 'server' | null = null;
  private chart: Chart<'line', GwPoint[]> | null = null;
  private readonly views = new Map<string, ScatterView>();
  private readonly slider: HTMLInputElement;
  private readonly output: HTMLOutputElement;
  private readonly statusEl: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly body: HTMLElement;
  private empty: HTMLElement;
  private seq = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private readonly cache = new Map<
    string,
    { points: Array<[number, number]>; labels: number[] | null; source: 'server'; note: string }
  >();
  private disposed = false;
  private pointCount = 0;
  /** Which view (per method, or the browser's PCA) the chart shows. */
  private viewKey = '';
  private classes: number[] = [];

  constructor(private readonly runId: string) {
    const sliderId = uid('latent-epoch');
    this.slider = h('input', { id: sliderId, type: 'range', min: 0, max: 0, step: 1, value: 0 });
    this.output = h('output', { for: sliderId, 'aria-live': 'polite' });
    this.slider.addEventListener('input', () => this.show(Number(this.slider.value)));
    const name = uid('method');
    const radios = METHODS.map(([m, label]) => {
      const id = uid('method');
      const input = h('input', { type: 'radio', name, id, value: m, checked: m === this.method });
      input.addEventListener('change', () => {
        if (input.checked) {
          this.method = m;
          void this.draw();
        }
      });
      return h('span', { class: 'radio' }, input, h('label', { for: id }, label));
    });
    this.statusEl = h('p', { class: 'latent-status', role: 'status' });
    this.legend = h('ul', { class: 'legend', 'aria-label': 'Classes' });
    this.canvas = h('canvas', { role: 'img', 'aria-label': 'Scatter plot of the latent codes' });
    this.empty = notice('loading', 'Loading latent codes…');
    this.body = h(
      'div',
      { class: 'latent-body' },
      h(
        'div',
        { class: 'slider-row' },
        h('label', { for: sliderId }, 'Epoch'),
        this.slider,
        this.output,
        h('fieldset', { class: 'method' }, h('legend', { class: 'visually-hidden' }, 'Projection'), radios),
      ),
      this.statusEl,
      h('div', { class: 'latent-plot' }, h('div', { class: 'latent-canvas' }, this.canvas), this.legend),
    );
    this.body.hidden = true;
    this.el = h('div', { class: 'latent-panel' }, this.empty, this.body);
  }

  async load(): Promise<void> {
    try {
      const epochs = await api.latentEpochs(this.runId);
      this.setEpochs(
        epochs.map((e) => e.epoch),
        true,
      );
    } catch (err) {
      this.empty.replaceWith(
        (this.empty = notice('error', `Could not load the latent codes: ${(err as Error).message}`)),
      );
    }
  }

  /** A live `latents` frame: a new epoch to show (followed if the newest was shown). */
  latentsAdded(epoch: number): void {
    const atEnd = this.index === this.epochs.length - 1;
    for (const k of [...this.cache.keys()]) if (k.startsWith(`${epoch}:`)) this.cache.delete(k);
    this.setEpochs([...new Set([...this.epochs, epoch])], atEnd);
  }

  /** A live `projection` frame: the server finished one. */
  projectionReady(epoch: number, method: string): void {
    this.cache.delete(`${epoch}:${method}`);
    if (this.epochs[this.index] === epoch && this.method === method) void this.draw();
  }

  dispose(): void {
    this.disposed = true;
    if (this.retry) clearTimeout(this.retry);
    this.chart?.destroy();
  }

  private setEpochs(epochs: number[], toLatest: boolean): void {
    const current = this.epochs[this.index];
    this.epochs = epochs.sort((a, b) => a - b);
    if (this.epochs.length === 0) {
      this.empty.replaceWith(
        (this.empty = notice(
          'empty',
          'No latent codes yet: the trainer uploads the encoder’s codes every validation epoch.',
        )),
      );
      return;
    }
    this.empty.hidden = true;
    this.body.hidden = false;
    this.slider.max = String(this.epochs.length - 1);
    const keep = current === undefined ? -1 : this.epochs.indexOf(current);
    this.show(toLatest || keep < 0 ? this.epochs.length - 1 : keep);
  }

  private show(index: number): void {
    this.index = Math.max(0, Math.min(this.epochs.length - 1, index));
    this.slider.value = String(this.index);
    const epoch = this.epochs[this.index]!;
    this.output.textContent = `epoch ${epoch} (${this.index + 1} of ${this.epochs.length})`;
    this.slider.setAttribute('aria-valuetext', `epoch ${epoch}`);
    void this.draw();
  }

  private async fetchProjection(
    epoch: number,
  ): Promise<{ points: Array<[number, number]>; labels: number[] | null; source: 'server'; note: string } | 'pending'> {
    const key = `${epoch}:${this.method}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (this.serverProjects !== false) {
      try {
        const p = await api.projection(this.runId, epoch, this.method);
        this.serverProjects = true;
        if (p.status === 'pending') return 'pending';
        if (p.status === 'ready' && p.points) {
          const notes = [`${label(this.method)} computed by the server`];
          const continuity = p.params.continuity as ProjectionContinuity | undefined;
          if (continuity?.collapsed && continuity.spread_ratio !== null)
            notes.push(
              `the codes collapsed: their spread is ${percent(continuity.spread_ratio)} of epoch ${continuity.reference}’s`,
            );
          else if (this.method === 'tsne' && continuity?.start === 'fresh' && continuity.reference !== null)
            notes.push(`laid out afresh, not continued from epoch ${continuity.reference}`);
          if (p.subsampled)
            notes.push(
              `${p.subsampled.to} of ${p.subsampled.from} codes${p.subsampled.stratified ? ', stratified by class' : ''}`,
            );
          const sep = p.separation;
          if (sep?.status === 'ready' && sep.silhouette !== null)
            notes.push(
              `silhouette ${fmtValue(sep.silhouette)}${sep.fisher !== null ? `, Fisher ratio ${fmtValue(sep.fisher)}` : ''}`,
            );
          const got = { points: p.points, labels: p.labels, source: 'server' as const, note: notes.join('; ') };
          this.cache.set(key, got);
          return got;
        }
        throw new Error(p.error ?? `the server could not compute ${label(this.method)}`);
      } catch (err) {
        // A 404 that is not about this run's codes means the server has no projection route.
        const missingRoute =
          err instanceof ApiError &&
          err.status === 404 &&
          (err.code === 'GW_ERR_ROUTE_NOT_FOUND' || !err.code.startsWith('GW_ERR_'));
        if (!missingRoute) throw err;
        this.serverProjects = false;
      }
    }
    throw new Error(`this server computes no projections (it has no GET ${API_PREFIX}/runs/:id/projections)`);
  }

  private async draw(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    const seq = ++this.seq;
    const epoch = this.epochs[this.index];
    if (epoch === undefined) return;
    this.statusEl.textContent = `Loading ${label(this.method)} for epoch ${epoch}…`;
    let got: Awaited<ReturnType<LatentPanel['fetchProjection']>>;
    try {
      got = await this.fetchProjection(epoch);
    } catch (err) {
      if (seq === this.seq) this.statusEl.textContent = `Could not project epoch ${epoch}: ${(err as Error).message}`;
      return;
    }
    if (seq !== this.seq || this.disposed) return;
    if (got === 'pending') {
      this.statusEl.textContent = `Computing ${label(this.method)} for epoch ${epoch} on the server…`;
      this.retry = setTimeout(() => void this.draw(), PENDING_RETRY_MS);
      return;
    }
    this.source = got.source;
    this.render(got.points, got.labels, this.method);
    this.statusEl.textContent = `Epoch ${epoch}: ${got.points.length} codes · ${got.note}.`;
  }

  private render(points: Array<[number, number]>, labels: number[] | null, boxKey: string): void {
    registerCharts();
    const groups = new Map<number, GwPoint[]>();
    points.forEach(([x, y], i) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      const c = labels?.[i] ?? -1;
      let g = groups.get(c);
      if (!g) groups.set(c, (g = []));
      g.push({ x, y });
    });
    const bounds = boundsOf(points);
    if (bounds) this.views.set(boxKey, nextView(this.views.get(boxKey) ?? null, bounds));
    this.viewKey = boxKey;
    const classes = [...groups.keys()].sort((a, b) => a - b);
    this.classes = classes;
    this.pointCount = points.length;
    const datasets: GwDataset[] = classes.map((c, i) => {
      const color = RUN_COLORS[(c < 0 ? i : c) % RUN_COLORS.length]!;
      const ds: GwDataset = {
        label: c < 0 ? 'codes' : `class ${c}`,
        data: groups.get(c)!,
        showLine: false,
        pointRadius: points.length > 3000 ? 1.5 : 2.5,
        pointHoverRadius: 4,
        borderWidth: 0,
        backgroundColor: color,
        borderColor: color,
      };
      datasetInfo.set(ds, { role: 'scatter', run: this.runId, runName: ds.label! });
      return ds;
    });
    if (!this.chart) {
      this.chart = new Chart<'line', GwPoint[]>(this.canvas, {
        type: 'line',
        data: { datasets },
        options: {
          ...STATIC_LINE_OPTIONS,
          // Room for the outer tick labels, which the fixed axis sizes below no longer make room for.
          layout: { padding: { top: 8, right: 24 } },
          onResize: () => requestAnimationFrame(() => this.fitAxes()),
          interaction: { mode: 'gwCurves', intersect: false },
          plugins: {
            tooltip: {
              callbacks: {
                title: () => '',
                label: (item) =>
                  `${item.dataset.label}: (${fmtValue((item.raw as GwPoint).x)}, ${fmtValue((item.raw as GwPoint).y)})`,
              },
            },
          },
          scales: {
            x: {
              type: 'linear',
              ticks: { maxTicksLimit: 7, includeBounds: false, callback: (v) => fmtValue(Number(v)) },
              afterFit: (scale) => {
                scale.height = X_AXIS_HEIGHT;
                scale.paddingLeft = 0;
                scale.paddingRight = 0;
              },
            },
            y: {
              type: 'linear',
              ticks: { maxTicksLimit: 7, includeBounds: false, callback: (v) => fmtValue(Number(v)) },
              afterFit: (scale) => {
                scale.width = Y_AXIS_WIDTH;
                scale.paddingTop = 0;
                scale.paddingBottom = 0;
              },
            },
          },
        },
      });
    } else {
      this.chart.data.datasets = datasets;
      this.chart.update('none');
    }
    this.fitAxes();
    this.legend.replaceChildren(
      ...classes.map((c, i) =>
        h(
          'li',
          null,
          h('span', {
            class: 'swatch',
            style: `background:${RUN_COLORS[(c < 0 ? i : c) % RUN_COLORS.length]}`,
            'aria-hidden': 'true',
          }),
          ` ${c < 0 ? 'unlabelled' : `class ${c}`} (${groups.get(c)!.length})`,
        ),
      ),
    );
  }

  /**
   * Sets the axis ranges to show the current view with equal units on both axes. The plot area is known only after a
   * layout pass; with fixed axis sizes it does not change with the ranges, so one more pass settles it.
   */
  private fitAxes(): void {
    const chart = this.chart;
    const view = this.views.get(this.viewKey);
    if (!chart || this.disposed) return;
    for (let pass = 0; pass < 3; pass++) {
      const area = chart.chartArea;
      const want = view
        ? equalUnitRanges(view.box, area.right - area.left, area.bottom - area.top)
        : { x: [-1, 1] as [number, number], y: [-1, 1] as [number, number] };
      const x = chart.options.scales!.x!;
      const y = chart.options.scales!.y!;
      const same = (a: unknown, b: number): boolean => typeof a === 'number' && Math.abs(a - b) <= 1e-9 * Math.abs(b);
      if (same(x.min, want.x[0]) && same(x.max, want.x[1]) && same(y.min, want.y[0]) && same(y.max, want.y[1])) return;
      Object.assign(x, { min: want.x[0], max: want.x[1] });
      Object.assign(y, { min: want.y[0], max: want.y[1] });
      chart.update('none');
    }
  }

  private drawnAxes(): ScatterAxes | null {
    const xs = this.chart?.scales.x;
    const ys = this.chart?.scales.y;
    if (!xs || !ys || !(xs.max > xs.min) || !(ys.max > ys.min)) return null;
    return {
      x: [xs.min, xs.max],
      y: [ys.min, ys.max],
      pxPerUnit: {
        x: Math.abs(xs.getPixelForValue(xs.max) - xs.getPixelForValue(xs.min)) / (xs.max - xs.min),
        y: Math.abs(ys.getPixelForValue(ys.max) - ys.getPixelForValue(ys.min)) / (ys.max - ys.min),
      },
    };
  }

  snapshot(): LatentSnapshot {
    return {
      epochs: [...this.epochs],
      epoch: this.epochs[this.index] ?? null,
      method: this.method,
      source: this.source,
      status: this.statusEl.textContent ?? '',
      points: this.pointCount,
      classes: [...this.classes],
      bounds: this.views.get(this.viewKey)?.box ?? null,
      axes: this.drawnAxes(),
    };
  }
}

function percent(ratio: number): string {
  const p = ratio * 100;
  return `${p < 1 ? p.toPrecision(1) : p.toFixed(0)}%`;
}

function label(method: ProjectionMethod): string {
  return METHODS.find(([m]) => m === method)![1];
}
