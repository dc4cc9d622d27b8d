// The run page's Distributions section: the per-layer heatmap of gradient (or weight) norms, then one chart per
// distribution (D(real) and D(fake) together) with its quantile bands over steps and the histogram at a chosen step.
// Each part reads its data when it first scrolls near, and again when live frames say there is more.
import type { DistributionRecord, LiveServerFrame, SeriesResponse } from '../../../protocol/index.js';
import { METRIC_PREFIX } from '../../../protocol/metric-names.js';
import { api, ApiError } from '../api.js';
import { DistributionChart, type BandDatasetSnapshot } from '../charts/distribution-chart.js';
import { HistogramChart } from '../charts/histogram-chart.js';
import { LayerHeatmap, type HeatmapGeometry } from '../charts/layer-heatmap.js';
import { flagLayers, layerMatrix, netOf, type LayerFlag } from '../charts/layer-norms.js';
import { planDistributions, type DistributionPlan } from '../distribution-plan.js';
import { h, notice, uid } from '../dom.js';
import { fmtValue } from '../format.js';
import './distributions-panel.css';

/** Columns of the heatmap, and buckets asked per layer series. */
const HEATMAP_COLUMNS = 160;
/** Records asked per distribution: about one per pixel column of a chart. */
const RECORDS_MAX = 400;
/** Live data re-reads a part at most this often. */
const REFRESH_MS = 2000;

export interface DistributionChartSnapshot {
  key: string;
  title: string;
  members: string[];
  loaded: boolean;
  drawn: boolean;
  steps: number[];
  bands: BandDatasetSnapshot[];
  /** Where the band chart draws (for clicking a step in the tests). */
  area: ReturnType<DistributionChart['area']>;
  /** The step whose histogram is shown, and the records it was drawn from. */
  step: number | null;
  histogram: Array<{ label: string; points: Array<[number, number]> }>;
  records: Array<{ name: string; step: number; fromStep: number; toStep: number; merged: number; nonFinite: number }>;
}

export interface HeatmapSnapshot {
  kind: 'grad' | 'norm';
  layers: string[];
  columns: number;
  flags: LayerFlag[];
  geometry: HeatmapGeometry | null;
  loads: number;
}

export interface DistributionsSnapshot {
  names: string[];
  charts: DistributionChartSnapshot[];
  heatmap: HeatmapSnapshot | null;
}

/**
 * Re-reads at most every REFRESH_MS, never two at once, and only while on screen: a request while one runs is served
 * after it, one while off screen when the part scrolls back near.
 */
class Refresher {
  private running = false;
  private again = false;
  private pending = false;
  private onScreen = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last = 0;

  /** The part came on screen once and read its data: until then it has nothing to refresh. */
  started = false;

  constructor(private readonly work: () => Promise<void>) {}

  /** On screen (or near) or not: the first time it is, the part reads its data. */
  visibility(visible: boolean): void {
    this.onScreen = visible;
    if (visible && !this.started) {
      this.started = true;
      void this.run();
    } else if (visible && this.pending) this.request();
  }

  request(): void {
    if (!this.started) return;
    if (!this.onScreen) {
      this.pending = true;
      return;
    }
    this.pending = false;
    if (this.running || this.timer) {
      this.again = true;
      return;
    }
    const wait = this.last + REFRESH_MS - performance.now();
    if (wait > 0) this.timer = setTimeout(() => ((this.timer = null), this.request()), wait);
    else void this.run();
  }

  now(): Promise<void> {
    return this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    this.again = false;
    this.last = performance.now();
    try {
      await this.work();
    } finally {
      this.running = false;
      if (this.again) this.request();
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** The heatmap of `layer_grad/*` (or `layer_norm/*`) over steps, with the layers that stand out listed under it. */
class HeatmapCard {
  readonly el: HTMLElement;
  private readonly map: LayerHeatmap;
  private readonly flagsEl = h('ul', { class: 'layer-flags' });
  private readonly statusEl = h('span', { class: 'dist-status' });
  private readonly kindRow = h('div', { class: 'heatmap-kinds' });
  private readonly metrics = { grad: new Set<string>(), norm: new Set<string>() };
  private kind: 'grad' | 'norm' = 'grad';
  private layers: string[] = [];
  private flags: LayerFlag[] = [];
  private columns = 0;
  private loads = 0;
  private readonly refresher = new Refresher(() => this.load());

  constructor(private readonly runId: string) {
    this.map = new LayerHeatmap('Heatmap of the per-layer norms over steps');
    this.el = h(
      'div',
      { class: 'dist-card heatmap-card', 'data-heatmap': '' },
      h('header', null, h('h4', null, 'Per-layer norms'), this.statusEl),
      this.kindRow,
      h(
        'p',
        { class: 'dist-help' },
        'Colour: log of the norm, one scale for the map. A layer 100× below (▼ vanishing) or above (▲ exploding) the median layer of its net is marked.',
      ),
      this.map.el,
      this.flagsEl,
    );
  }

  /** Adds layer metrics (from the run's metric list or live points); true when there are new ones. */
  addMetrics(names: Iterable<string>): boolean {
    let added = false;
    for (const n of names) {
      const kind = n.startsWith(METRIC_PREFIX.layerGrad)
        ? 'grad'
        : n.startsWith(METRIC_PREFIX.layerNorm)
          ? 'norm'
          : null;
      if (!kind || this.metrics[kind].has(n)) continue;
      this.metrics[kind].add(n);
      added = true;
    }
    if (added) {
      if (!this.metrics.grad.size) this.kind = 'norm';
      this.paintKinds();
    }
    return added;
  }

  get empty(): boolean {
    return !this.metrics.grad.size && !this.metrics.norm.size;
  }

  /** Live points: re-read when they touch the layers shown. */
  pointsArrived(names: Iterable<string>): void {
    const added = this.addMetrics(names);
    if (!this.refresher.started) return;
    const prefix = this.kind === 'grad' ? METRIC_PREFIX.layerGrad : METRIC_PREFIX.layerNorm;
    if (added || [...names].some((n) => n.startsWith(prefix))) this.refresher.request();
  }

  visibility(visible: boolean): void {
    this.refresher.visibility(visible);
  }

  reload(): void {
    this.refresher.request();
  }

  private paintKinds(): void {
    const kinds = (['grad', 'norm'] as const).filter((k) => this.metrics[k].size);
    if (kinds.length < 2) {
      this.kindRow.replaceChildren();
      return;
    }
    const name = uid('heatmap-kind');
    this.kindRow.replaceChildren(
      ...kinds.map((k) => {
        const id = uid('heatmap-kind');
        const input = h('input', { type: 'radio', name, id, value: k, checked: k === this.kind });
        input.addEventListener('change', () => {
          if (!input.checked) return;
          this.kind = k;
          void this.refresher.now();
        });
        const label =
          k === 'grad' ? `Gradients (${METRIC_PREFIX.layerGrad}*)` : `Weights (${METRIC_PREFIX.layerNorm}*)`;
        return h('span', { class: 'radio' }, input, h('label', { for: id }, label));
      }),
    );
  }

  private async load(): Promise<void> {
    const kind = this.kind;
    const names = [...this.metrics[kind]];
    this.statusEl.textContent = 'loading…';
    const series = new Map<string, SeriesResponse>();
    try {
      await Promise.all(
        names.map(async (n) => series.set(n, await api.series(this.runId, n, { buckets: HEATMAP_COLUMNS }))),
      );
    } catch (err) {
      this.statusEl.textContent = `could not load: ${(err as Error).message}`;
      return;
    }
    if (kind !== this.kind) return;
    const matrix = layerMatrix(series, HEATMAP_COLUMNS);
    this.flags = flagLayers(matrix);
    this.layers = matrix.layers;
    this.columns = matrix.columns.length;
    this.loads++;
    this.map.setData(matrix, this.flags);
    const nets = new Set(matrix.nets).size;
    this.statusEl.textContent = `${matrix.layers.length} layers of ${nets} net${nets === 1 ? '' : 's'}`;
    this.flagsEl.replaceChildren(
      ...this.flags.map((f) =>
        h(
          'li',
          { class: `layer-flag ${f.kind}`, 'data-layer': f.layer },
          h('code', null, f.layer),
          ` ${f.kind}: ${ratioText(f.ratio)} the median layer of ${netOf(f.layer) || 'its net'}, from step ${f.step}`,
        ),
      ),
    );
  }

  snapshot(): HeatmapSnapshot {
    return {
      kind: this.kind,
      layers: this.layers,
      columns: this.columns,
      flags: this.flags,
      geometry: this.map.geometryNow(),
      loads: this.loads,
    };
  }

  dispose(): void {
    this.refresher.dispose();
    this.map.dispose();
  }
}

function ratioText(ratio: number): string {
  if (ratio === 0) return '0 ×';
  if (!Number.isFinite(ratio)) return 'non-finite, vs';
  return ratio >= 1 ? `${fmtValue(ratio)} ×` : `1/${fmtValue(1 / ratio)} of`;
}

/** One distribution chart: bands over steps, a step slider, and the histogram at the chosen step. */
class DistributionCard {
  readonly el: HTMLElement;
  private readonly bands: DistributionChart;
  private readonly hist: HistogramChart;
  private readonly slider: HTMLInputElement;
  private readonly output: HTMLOutputElement;
  private readonly statusEl = h('span', { class: 'dist-status' });
  private readonly readout = h('p', { class: 'dist-readout' });
  private readonly histNote = h('p', { class: 'dist-hist-note' });
  private records = new Map<string, DistributionRecord[]>();
  private steps: number[] = [];
  private step: number | null = null;
  private shown: Array<{ name: string; record: DistributionRecord }> = [];
  private histSeq = 0;
  loaded = false;
  private readonly refresher = new Refresher(() => this.load());

  constructor(
    private readonly runId: string,
    readonly plan: DistributionPlan,
  ) {
    const bandCanvas = h('canvas', { role: 'img', 'aria-label': `Quantile bands of ${plan.title} over steps` });
    const histCanvas = h('canvas', { role: 'img', 'aria-label': `Histogram of ${plan.title} at the chosen step` });
    this.bands = new DistributionChart(
      bandCanvas,
      (step) => this.pick(step),
      (text) => (this.readout.textContent = text),
    );
    this.hist = new HistogramChart(histCanvas);
    const sliderId = uid('dist-step');
    this.slider = h('input', { id: sliderId, type: 'range', min: 0, max: 0, step: 1, value: 0 });
    this.output = h('output', { for: sliderId });
    this.slider.addEventListener('input', () => {
      const step = this.steps[Number(this.slider.value)];
      if (step !== undefined) this.pick(step);
    });
    const legend =
      plan.members.length > 1
        ? h(
            'ul',
            { class: 'legend' },
            plan.members.map((m) =>
              h('li', null, h('span', { class: 'swatch', style: `background:${m.color}` }), m.label),
            ),
          )
        : null;
    this.el = h(
      'div',
      { class: 'dist-card', 'data-dist': plan.key },
      h('header', null, h('h4', { title: plan.title }, plan.title), legend, this.statusEl),
      h('div', { class: 'dist-bands' }, bandCanvas),
      this.readout,
      h('div', { class: 'slider-row' }, h('label', { for: sliderId }, 'Step'), this.slider, this.output),
      h('div', { class: 'dist-hist' }, histCanvas),
      this.histNote,
    );
  }

  visibility(visible: boolean): void {
    this.refresher.visibility(visible);
  }

  /** New records arrived live (or after a reconnect). */
  stale(): void {
    this.refresher.request();
  }

  private async load(): Promise<void> {
    if (!this.loaded) this.statusEl.textContent = 'loading…';
    const atEnd = this.step === null || this.step === this.steps[this.steps.length - 1];
    let responses;
    try {
      responses = await Promise.all(
        this.plan.members.map((m) => api.distributions(this.runId, { name: m.name, max: RECORDS_MAX })),
      );
    } catch (err) {
      this.statusEl.textContent = `could not load: ${(err as Error).message}`;
      return;
    }
    this.records = new Map(responses.map((r, i) => [this.plan.members[i]!.name, r.records]));
    const steps = new Set<number>();
    for (const r of responses) for (const rec of r.records) steps.add(rec.step);
    this.steps = [...steps].sort((a, b) => a - b);
    this.bands.setSeries(this.plan.members.map((m) => ({ ...m, records: this.records.get(m.name) ?? [] })));
    const stored = responses.reduce((n, r) => Math.max(n, r.stored), 0);
    const merged = responses.some((r) => r.downsampled);
    this.statusEl.textContent = `${stored} step${stored === 1 ? '' : 's'}${merged ? `, ${this.steps.length} drawn` : ''}`;
    this.slider.max = String(Math.max(0, this.steps.length - 1));
    this.loaded = true;
    const keep = this.step !== null && !atEnd && this.steps.includes(this.step) ? this.step : null;
    const last = this.steps[this.steps.length - 1];
    if (keep !== null) this.pick(keep);
    else if (last !== undefined) this.pick(last);
  }

  /** Shows the histogram at `step`: from the records drawn, then exactly that step's when they were merged. */
  private pick(step: number): void {
    this.step = step;
    const index = this.steps.indexOf(step);
    if (index >= 0) this.slider.value = String(index);
    this.output.textContent = String(step);
    this.bands.select(step);
    this.shown = [];
    for (const m of this.plan.members) {
      const list = this.records.get(m.name) ?? [];
      const record = list.find((r) => r.fromStep <= step && step <= r.toStep);
      if (record) this.shown.push({ name: m.name, record });
    }
    this.drawHistogram();
    if (this.shown.some((s) => s.record.merged > 1)) void this.exact(step);
  }

  private async exact(step: number): Promise<void> {
    const seq = ++this.histSeq;
    const exact = await Promise.all(
      this.shown.map((s) =>
        s.record.merged > 1
          ? api
              .distributions(this.runId, { name: s.name, from: step, to: step, max: 1 })
              .then((r) => r.records[0] ?? s.record)
              .catch(() => s.record)
          : Promise.resolve(s.record),
      ),
    );
    if (seq !== this.histSeq || this.step !== step) return;
    this.shown = this.shown.map((s, i) => ({ name: s.name, record: exact[i]! }));
    this.drawHistogram();
  }

  private drawHistogram(): void {
    const members = new Map(this.plan.members.map((m) => [m.name, m]));
    this.hist.show(
      this.shown.map(({ name, record }) => ({
        name,
        label: members.get(name)!.label,
        color: members.get(name)!.color,
        histogram: record,
      })),
    );
    this.histNote.textContent = this.shown
      .map(({ name, record: r }) => {
        const where = r.merged > 1 ? `steps ${r.fromStep}–${r.toStep} (${r.merged} merged)` : `step ${r.step}`;
        const n = r.counts.reduce((a, b) => a + b, 0);
        const nf = r.nonFinite ? `, ${r.nonFinite} non-finite` : '';
        return `${members.get(name)!.label}: ${where}, ${n} values${nf}`;
      })
      .join(' · ');
  }

  snapshot(): DistributionChartSnapshot {
    return {
      key: this.plan.key,
      title: this.plan.title,
      members: this.plan.members.map((m) => m.name),
      loaded: this.loaded,
      drawn: this.bands.drawn,
      steps: this.steps,
      bands: this.bands.snapshot(),
      area: this.bands.area(),
      step: this.step,
      histogram: this.hist.snapshot(),
      records: this.shown.map(({ name, record: r }) => ({
        name,
        step: r.step,
        fromStep: r.fromStep,
        toStep: r.toStep,
        merged: r.merged,
        nonFinite: r.nonFinite,
      })),
    };
  }

  dispose(): void {
    this.refresher.dispose();
    this.bands.destroy();
    this.hist.destroy();
  }
}

export class DistributionsPanel {
  readonly el: HTMLElement;
  private readonly heatmap: HeatmapCard;
  private readonly list = h('div', { class: 'dist-grid' });
  private readonly emptyEl = notice(
    'empty',
    'No distributions or per-layer norms yet: they appear when the trainer sends them.',
  );
  private readonly errorEl = h('div');
  private names: string[] = [];
  private readonly cards = new Map<string, DistributionCard>();
  private readonly observer: IntersectionObserver;
  private readonly owners = new WeakMap<Element, { visibility(visible: boolean): void }>();

  constructor(private readonly runId: string) {
    this.heatmap = new HeatmapCard(runId);
    this.heatmap.el.hidden = true;
    this.el = h('div', { class: 'distributions-panel' }, this.errorEl, this.emptyEl, this.heatmap.el, this.list);
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) this.owners.get(e.target)?.visibility(e.isIntersecting);
      },
      { rootMargin: '300px 0px' },
    );
    this.owners.set(this.heatmap.el, this.heatmap);
    this.observer.observe(this.heatmap.el);
  }

  /** Reads the run's distribution names and layer metrics (on mount and after a reconnect). */
  async load(): Promise<void> {
    const [names, metrics] = await Promise.all([
      api.distributionNames(this.runId).catch((err: Error) => {
        // A server without the distributions routes answers 404: it has none to show.
        if (!(err instanceof ApiError && err.status === 404))
          this.errorEl.replaceChildren(notice('error', `Could not load the distributions: ${err.message}`));
        return [];
      }),
      api.metrics(this.runId).catch(() => []),
    ]);
    this.heatmap.addMetrics(metrics.map((m) => m.name));
    this.heatmap.reload();
    // Names a live frame added while this read was on its way stay: the read may predate them.
    this.setNames([...new Set([...this.names, ...names.map((n) => n.name)])].sort());
    for (const card of this.cards.values()) card.stale();
    this.paintEmpty();
    this.el.dataset.loaded = 'true';
  }

  /** A live frame of this run. */
  onFrame(frame: LiveServerFrame): void {
    if (frame.type === 'points') {
      const names = new Set<string>();
      for (const p of frame.points) for (const k of Object.keys(p.values)) names.add(k);
      this.heatmap.pointsArrived(names);
      this.paintEmpty();
      return;
    }
    if (frame.type === 'distribution') this.distributionsAdded([frame.name]);
  }

  /** New records of these distributions were stored. */
  distributionsAdded(names: readonly string[]): void {
    const fresh = names.filter((n) => !this.names.includes(n));
    if (fresh.length) this.setNames([...this.names, ...fresh].sort());
    for (const card of this.cards.values()) if (card.plan.members.some((m) => names.includes(m.name))) card.stale();
    this.paintEmpty();
  }

  private setNames(names: string[]): void {
    this.names = names;
    const plans = planDistributions(names);
    const keys = new Set(plans.map((p) => p.key));
    // A pair whose second half arrived later replaces the single chart of its first half.
    for (const [key, card] of this.cards)
      if (!keys.has(key)) {
        this.observer.unobserve(card.el);
        card.dispose();
        card.el.remove();
        this.cards.delete(key);
      }
    for (const plan of plans) {
      let card = this.cards.get(plan.key);
      if (!card) {
        card = new DistributionCard(this.runId, plan);
        this.cards.set(plan.key, card);
        this.owners.set(card.el, card);
        this.observer.observe(card.el);
      }
      this.list.append(card.el);
    }
  }

  private paintEmpty(): void {
    this.heatmap.el.hidden = this.heatmap.empty;
    this.emptyEl.hidden = !this.heatmap.empty || this.cards.size > 0;
  }

  snapshot(): DistributionsSnapshot {
    return {
      names: this.names,
      charts: [...this.cards.values()].map((c) => c.snapshot()),
      heatmap: this.heatmap.empty ? null : this.heatmap.snapshot(),
    };
  }

  dispose(): void {
    this.observer.disconnect();
    this.heatmap.dispose();
    for (const card of this.cards.values()) card.dispose();
  }
}
