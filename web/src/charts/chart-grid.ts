// The charts of a run page or compare view: groups from chart-groups.ts, one lazily created chart per metric
// (created when scrolled near, redrawn only while on screen), shared smoothing / x axis / zoom, live points fan-out.
import type { MetricSummary, SeriesResponse } from '../../../protocol/index.js';
import { api } from '../api.js';
import { CHART_GROUPS, planCharts, type ChartGroup } from '../chart-groups.js';
import { h, uid } from '../dom.js';
import {
  MetricChart,
  type ChartHost,
  type ChartMarker,
  type ChartSnapshot,
  type LivePointLike,
  type ChartRun,
  type StepRange,
  type XAxis,
} from './metric-chart.js';

export interface GridOptions {
  runs: ChartRun[];
  compare?: boolean;
  /** Buckets asked per series request (default: 1000 for one run, fewer per run when comparing, ≥ 200). */
  budget?: number;
  groups?: readonly ChartGroup[];
}

/** The metric of markers that concern the whole run (the server's connection gaps): drawn on every chart of it. */
export const WHOLE_RUN = '*';

export interface MarkerOnMetric extends ChartMarker {
  metric: string;
}

const ZOOM_LOAD_DELAY_MS = 120;
/** How often charts without new points are redrawn to follow a growing x extent. */
const EXTENT_REDRAW_MS = 1000;

export class ChartGrid implements ChartHost {
  readonly el: HTMLElement;
  readonly runs: ChartRun[];
  readonly compare: boolean;
  readonly budget: number;
  smoothing = 0;
  xAxis: XAxis = 'step';
  range: StepRange | null = null;
  extent: StepRange | null = null;
  private readonly groups: readonly ChartGroup[];
  private readonly metricsByRun = new Map<string, Set<string>>();
  private readonly charts = new Map<string, MetricChart>();
  private readonly byMetric = new Map<string, MetricChart[]>();
  private readonly sections = new Map<string, { el: HTMLElement; grid: HTMLElement }>();
  private readonly cardOwner = new WeakMap<Element, MetricChart>();
  private readonly observer: IntersectionObserver;
  private readonly emptyEl: HTMLElement;
  private markerList: MarkerOnMetric[] = [];
  private frame = 0;
  private replanTimer: ReturnType<typeof setTimeout> | null = null;
  private zoomTimer: ReturnType<typeof setTimeout> | null = null;
  private stretchTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly drawnListeners = new Set<(chart: MetricChart) => void>();
  private readonly rangeListeners = new Set<(range: StepRange | null) => void>();

  constructor(options: GridOptions) {
    this.runs = options.runs;
    this.compare = options.compare ?? false;
    this.budget = options.budget ?? Math.min(1000, Math.max(200, Math.floor(2000 / Math.max(1, this.runs.length))));
    this.groups = options.groups ?? CHART_GROUPS;
    this.emptyEl = h(
      'p',
      { class: 'notice notice-empty', role: 'status' },
      'No metrics yet: charts appear as soon as the trainer pushes points.',
    );
    this.el = h('div', { class: 'chart-groups' }, this.emptyEl);
    this.observer = new IntersectionObserver((entries) => this.onVisibility(entries), { rootMargin: '300px 0px' });
  }

  // --- ChartHost --------------------------------------------------------------------------------------------

  hasMetric(run: string, metric: string): boolean {
    return this.metricsByRun.get(run)?.has(metric) ?? false;
  }

  /** The metrics a run is known to have (declared by setMetrics or seen in live points). */
  metricsOf(run: string): ReadonlySet<string> {
    return this.metricsByRun.get(run) ?? new Set();
  }

  markers(run: string, metrics: readonly string[]): readonly ChartMarker[] {
    // Markers on '*' (connection gaps) concern the whole run: every chart of it shows them.
    return this.markerList.filter((m) => m.run === run && (m.metric === WHOLE_RUN || metrics.includes(m.metric)));
  }

  fetchSeries(
    run: string,
    metric: string,
    req: { buckets: number; from?: number; to?: number },
    signal: AbortSignal,
  ): Promise<SeriesResponse> {
    return api.series(run, metric, req, signal);
  }

  noteStart(run: string, wall: number): void {
    const ref = this.runs.find((r) => r.id === run);
    if (!ref || !(wall < ref.start)) return;
    ref.start = wall;
    if (this.xAxis === 'relative') this.markAll();
  }

  zoom(range: StepRange | null): void {
    this.range = range;
    for (const chart of this.charts.values()) {
      if (!chart.active) continue;
      chart.dirty = true;
      chart.needsLoad = true;
    }
    this.schedule();
    if (this.zoomTimer) clearTimeout(this.zoomTimer);
    this.zoomTimer = setTimeout(() => {
      this.zoomTimer = null;
      for (const chart of this.charts.values()) if (chart.active && chart.visible && chart.needsLoad) void chart.load();
    }, ZOOM_LOAD_DELAY_MS);
    for (const fn of this.rangeListeners) fn(range);
  }

  drawn(chart: MetricChart): void {
    for (const fn of this.drawnListeners) fn(chart);
  }

  // --- page-facing ----------------------------------------------------------------------------------------

  onDrawn(fn: (chart: MetricChart) => void): () => void {
    this.drawnListeners.add(fn);
    return () => this.drawnListeners.delete(fn);
  }

  onRange(fn: (range: StepRange | null) => void): () => void {
    this.rangeListeners.add(fn);
    return () => this.rangeListeners.delete(fn);
  }

  /** Declares a run's metrics (from GET /runs/:id/metrics) and lays out any charts that are new. */
  setMetrics(run: string, summaries: readonly MetricSummary[]): void {
    const names = this.metricsByRun.get(run) ?? new Set<string>();
    this.metricsByRun.set(run, names);
    const added = new Set<string>();
    for (const s of summaries) {
      if (!names.has(s.name)) added.add(s.name);
      names.add(s.name);
      this.growExtent(s.first_step, s.last_step);
    }
    this.replan(added);
  }

  setMarkers(markers: MarkerOnMetric[]): void {
    this.markerList = markers;
    this.markAll();
  }

  setSmoothing(weight: number): void {
    this.smoothing = weight;
    this.markAll();
  }

  setXAxis(axis: XAxis): void {
    this.xAxis = axis;
    this.markAll();
  }

  /** Live points of one run: new metrics get charts, existing charts fold the points in. Returns whether a metric was new. */
  livePoints(run: string, points: readonly LivePointLike[]): boolean {
    if (!this.runs.some((r) => r.id === run) || points.length === 0) return false;
    let names = this.metricsByRun.get(run);
    if (!names) this.metricsByRun.set(run, (names = new Set()));
    const touched = new Set<MetricChart>();
    let newMetric = false;
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of points) {
      lo = Math.min(lo, p.step);
      hi = Math.max(hi, p.step);
      for (const metric of Object.keys(p.values)) {
        if (!names.has(metric)) {
          names.add(metric);
          newMetric = true;
        }
        for (const chart of this.byMetric.get(metric) ?? []) touched.add(chart);
      }
    }
    // Charts that got points redraw at once; the others only need their x axis stretched to the new extent, which
    // can wait a little (redrawing every chart on every live step is what would make a page of charts sluggish).
    if (this.growExtent(lo, hi)) this.stretchSoon();
    for (const chart of touched) chart.livePoints(run, points);
    if (newMetric) this.replanSoon();
    this.schedule();
    return newMetric;
  }

  /** After a reconnect: everything may have changed. */
  reloadAll(): void {
    for (const chart of this.charts.values()) {
      if (!chart.active) continue;
      chart.needsLoad = true;
      if (chart.visible) void chart.load();
    }
  }

  snapshot(): ChartSnapshot[] {
    return [...this.charts.values()].map((c) => c.snapshot());
  }

  chartList(): MetricChart[] {
    return [...this.charts.values()];
  }

  destroy(): void {
    this.observer.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.replanTimer) clearTimeout(this.replanTimer);
    if (this.zoomTimer) clearTimeout(this.zoomTimer);
    if (this.stretchTimer) clearTimeout(this.stretchTimer);
    for (const chart of this.charts.values()) chart.destroy();
    this.charts.clear();
  }

  // --- internals ------------------------------------------------------------------------------------------

  private growExtent(lo: number, hi: number): boolean {
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return false;
    const e = this.extent;
    if (e && lo >= e.from && hi <= e.to) return false;
    this.extent = { from: Math.min(lo, e?.from ?? lo), to: Math.max(hi, e?.to ?? hi) };
    return true;
  }

  private stretchSoon(): void {
    if (this.stretchTimer) return;
    this.stretchTimer = setTimeout(() => {
      this.stretchTimer = null;
      // Charts that drew live points since the extent last grew already span it (growExtent makes a new object).
      for (const chart of this.charts.values())
        if (chart.active && chart.drawnExtent !== this.extent) chart.dirty = true;
      this.schedule();
    }, EXTENT_REDRAW_MS);
  }

  private markAll(): void {
    for (const chart of this.charts.values()) if (chart.active) chart.dirty = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const chart of this.charts.values()) {
        if (!chart.active || !chart.visible) continue;
        if (chart.dirty) chart.render();
      }
    });
  }

  private replanSoon(): void {
    if (this.replanTimer) return;
    this.replanTimer = setTimeout(() => {
      this.replanTimer = null;
      this.replan();
    }, 200);
  }

  /** Lays out charts for every known metric; charts already showing that gained a stored input (`added`) re-read. */
  private replan(added: ReadonlySet<string> = new Set()): void {
    const all = new Set<string>();
    for (const names of this.metricsByRun.values()) for (const n of names) all.add(n);
    const plans = planCharts(all, this.groups);
    this.emptyEl.hidden = plans.length > 0;
    for (const { group, charts } of plans) {
      const section = this.section(group);
      this.el.append(section.el);
      for (const plan of charts) {
        let chart = this.charts.get(plan.key);
        if (!chart) {
          chart = new MetricChart(plan, this);
          this.charts.set(plan.key, chart);
          this.cardOwner.set(chart.el, chart);
          for (const m of chart.inputs) {
            let list = this.byMetric.get(m);
            if (!list) this.byMetric.set(m, (list = []));
            list.push(chart);
          }
          this.observer.observe(chart.el);
        } else if (chart.active && chart.inputs.some((m) => added.has(m))) {
          // A run gained this metric: fetch it.
          chart.needsLoad = true;
          if (chart.visible) void chart.load();
        }
        section.grid.append(chart.el);
      }
    }
  }

  private section(group: ChartGroup): { el: HTMLElement; grid: HTMLElement } {
    let s = this.sections.get(group.id);
    if (s) return s;
    const headingId = uid('group');
    const gridId = uid('group-grid');
    const grid = h('div', { class: `chart-grid${group.compact ? ' compact' : ''}`, id: gridId });
    const toggle = h(
      'button',
      { class: 'group-toggle', type: 'button', 'aria-expanded': 'true', 'aria-controls': gridId },
      h('span', { class: 'chevron', 'aria-hidden': 'true' }, '▾'),
      h('span', { id: headingId }, group.title),
    );
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(open));
      grid.hidden = !open;
    });
    const el = h(
      'section',
      { class: 'chart-group', 'aria-labelledby': headingId, 'data-group': group.id },
      h('h3', null, toggle),
      group.description ? h('p', { class: 'group-description' }, group.description) : null,
      grid,
    );
    s = { el, grid };
    this.sections.set(group.id, s);
    return s;
  }

  private onVisibility(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      const chart = this.cardOwner.get(entry.target);
      if (!chart) continue;
      chart.visible = entry.isIntersecting;
      if (!chart.visible) continue;
      if (!chart.active) chart.activate();
      else if (chart.needsLoad) void chart.load();
      else if (chart.dirty) chart.render();
    }
  }
}
