// One chart: a metric (or a derived curve) for one or more runs. Draws each run's min–max band and mean line from the
// server's buckets (or its raw points), the smoothed curve, NaN/Inf markers and change-point/alert markers; handles
// zoom and pan; folds live points in; re-queries finer buckets for the visible step range.
import type { SeriesResponse } from '../../../protocol/index.js';
import type { WireValue } from '../../../protocol/wire.js';
import type { ChartPlan } from '../chart-groups.js';
import { h, uid } from '../dom.js';
import { fmtClock, fmtDuration, fmtStep, fmtValue } from '../format.js';
import { onThemeChange } from '../theme.js';
import {
  Chart,
  MARKER_ROLES,
  datasetInfo,
  nearestIndex,
  registerCharts,
  STATIC_LINE_OPTIONS,
  type DatasetInfo,
  type GwDataset,
  type GwPoint,
} from './chart-setup.js';
import { chartTheme, scaleColours } from './chart-theme.js';
import { NONFINITE_COLOR, withAlpha } from './colors.js';
import { deriveEntries } from './derived.js';
import { SeriesBuffer, type Entry } from './series-buffer.js';
import { smoothEntries } from './smoothing.js';

export type XAxis = 'step' | 'wall' | 'relative';

export interface StepRange {
  from: number;
  to: number;
}

export interface ChartRun {
  id: string;
  name: string;
  color: string;
  /** Wall time (s) that relative time counts from. */
  start: number;
  /**
   * An ancestor of the page's run (the run it was forked from, and so on): only its steps up to `until` (the fork) are
   * drawn, in a dimmed colour, under the run's own curve.
   */
  until?: number;
}

export interface ChartMarker {
  run: string;
  step: number;
  kind: 'change' | 'alert' | 'gap';
  text: string;
  color: string;
}

export interface LivePointLike {
  step: number;
  wall: number;
  values: Record<string, WireValue>;
}

/** What a chart needs from the page that holds it (shared settings, data access, zoom). */
export interface ChartHost {
  readonly runs: readonly ChartRun[];
  readonly smoothing: number;
  readonly xAxis: XAxis;
  /** The zoomed step range, shared by every chart of the page; null when not zoomed. */
  readonly range: StepRange | null;
  /** Steps covered by the page's runs, so every chart's x axis lines up when not zoomed. */
  readonly extent: StepRange | null;
  readonly budget: number;
  readonly compare: boolean;
  hasMetric(run: string, metric: string): boolean;
  markers(run: string, metrics: readonly string[]): readonly ChartMarker[];
  fetchSeries(
    run: string,
    metric: string,
    req: { buckets: number; from?: number; to?: number },
    signal: AbortSignal,
  ): Promise<SeriesResponse>;
  /** The wall time of a run's first point seen (relative time counts from the earliest of these and its creation). */
  noteStart(run: string, wall: number): void;
  zoom(range: StepRange | null): void;
  drawn(chart: MetricChart): void;
}

export interface ChartSnapshot {
  key: string;
  title: string;
  drawn: boolean;
  loading: boolean;
  error: string | null;
  log: boolean;
  xMin: number | null;
  xMax: number | null;
  /** The y axis's drawn range. */
  yMin: number | null;
  yMax: number | null;
  sources: Array<{ run: string; metric: string; mode: 'raw' | 'buckets'; entries: number }>;
  /** The hover tooltip's title and lines while it is shown. */
  tooltip: { title: string[]; lines: string[] } | null;
  datasets: Array<{
    role: string;
    run: string;
    label: string;
    points: Array<[number, number]>;
    texts?: string[];
    /** The line's (or markers') colour. */
    color?: string;
  }>;
}

const RELOAD_THROTTLE_MS = 3000;
const bufferKey = (run: string, metric: string): string => `${run}\u0000${metric}`;

/** What one render collects across the runs; the y extent (top, bottom) spans every run drawn so far. */
interface RenderPass {
  datasets: GwDataset[];
  markerPoints: Array<{ ds: GwDataset; points: GwPoint[] }>;
  summary: string[];
  top: number;
  bottom: number;
  /** A y the chart can draw (finite, and positive on a log axis). */
  ok: (y: number | null) => y is number;
}

function addDataset(pass: RenderPass, ds: GwDataset, info: DatasetInfo): void {
  datasetInfo.set(ds, info);
  pass.datasets.push(ds);
}

export class MetricChart {
  readonly el: HTMLElement;
  readonly inputs: readonly string[];
  private readonly canvasBox: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly statusEl: HTMLElement;
  private readonly summaryEl: HTMLElement;
  private readonly selection: HTMLDivElement;
  private chart: Chart<'line', GwPoint[]> | null = null;
  private buffers = new Map<string, SeriesBuffer>();
  private queued: Array<{ run: string; points: readonly LivePointLike[] }> | null = null;
  private abort: AbortController | null = null;
  private loadSeq = 0;
  private reloadTimer: ReturnType<typeof setTimeout> | null = null;
  private lastLoadAt = 0;
  private loading = false;
  private error: string | null = null;
  private drag: { x0: number; mode: 'select' | 'pan'; min: number; max: number } | null = null;
  private offTheme: (() => void) | null = null;
  log: boolean;
  active = false;
  visible = false;
  dirty = false;
  /** The range changed while the chart was off screen: load when it is next seen. */
  needsLoad = false;
  /** performance.now() when the chart first drew its loaded data. */
  drawnAt: number | null = null;
  /** The host's step extent at the last draw: a chart drawn since the extent last grew already spans it. */
  drawnExtent: StepRange | null = null;

  constructor(
    readonly plan: ChartPlan,
    private readonly host: ChartHost,
  ) {
    this.inputs = plan.metric ? [plan.metric] : [...(plan.derived?.inputs ?? [])];
    this.log = plan.log;
    const titleId = uid('chart-title');
    const summaryId = uid('chart-summary');
    this.canvas = h('canvas', { 'aria-hidden': 'true' });
    this.selection = h('div', { class: 'zoom-selection', hidden: true });
    this.canvasBox = h(
      'div',
      {
        class: 'chart-canvas',
        tabindex: 0,
        role: 'img',
        'aria-labelledby': titleId,
        'aria-describedby': summaryId,
      },
      this.canvas,
      this.selection,
    );
    this.statusEl = h('span', { class: 'chart-status' });
    this.summaryEl = h('p', { class: 'visually-hidden', id: summaryId });
    const logBox = h('input', { type: 'checkbox', checked: this.log, onchange: () => this.setLog(logBox.checked) });
    this.el = h(
      'article',
      { class: `chart-card${plan.compact ? ' compact' : ''}`, 'data-chart': plan.key },
      h(
        'header',
        null,
        h('h4', { id: titleId, title: plan.derived?.description ?? plan.title }, plan.title),
        this.statusEl,
        h('label', { class: 'log-toggle' }, logBox, ' log'),
      ),
      this.canvasBox,
      this.summaryEl,
    );
    this.attachInteractions();
  }

  /** First time on screen: create the chart and load the data. */
  activate(): void {
    if (this.active) return;
    this.active = true;
    registerCharts();
    this.chart = new Chart<'line', GwPoint[]>(this.canvas, {
      type: 'line',
      data: { datasets: [] },
      options: this.options(),
    });
    // Axis colours follow the theme through Chart.defaults; the markers' colours are chosen here, so draw again.
    this.offTheme = onThemeChange(() => {
      if (!this.chart) return;
      this.chart.options = this.options();
      this.render();
    });
    void this.load();
  }

  destroy(): void {
    this.abort?.abort();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.offTheme?.();
    this.chart?.destroy();
    this.chart = null;
  }

  /** Re-reads the chart's series for the current range (on activation, zoom, reconnect, or an overflowing buffer). */
  async load(): Promise<void> {
    if (!this.active) return;
    this.needsLoad = false;
    if (this.reloadTimer) {
      clearTimeout(this.reloadTimer);
      this.reloadTimer = null;
    }
    const seq = ++this.loadSeq;
    this.abort?.abort();
    const ctrl = new AbortController();
    this.abort = ctrl;
    this.lastLoadAt = performance.now();
    this.queued = [];
    this.loading = true;
    this.setStatus(this.buffers.size ? '' : 'loading…');
    const range = this.host.range;
    try {
      const jobs: Array<Promise<[string, string, SeriesResponse]>> = [];
      for (const run of this.host.runs) {
        const to = this.toOf(run);
        if (to !== null && range && range.from > to) continue; // an ancestor's part lies before the zoomed range
        const req = { buckets: this.host.budget, from: range?.from, to: to ?? undefined };
        for (const metric of this.inputs) {
          if (!this.host.hasMetric(run.id, metric)) continue;
          jobs.push(this.host.fetchSeries(run.id, metric, req, ctrl.signal).then((res) => [run.id, metric, res]));
        }
      }
      const results = await Promise.all(jobs);
      if (seq !== this.loadSeq) return;
      const buffers = new Map<string, SeriesBuffer>();
      for (const [run, metric, res] of results) {
        const to = this.toOf(this.host.runs.find((r) => r.id === run)!);
        const buf = SeriesBuffer.fromResponse(res, this.host.budget, range?.from ?? null, to);
        buffers.set(bufferKey(run, metric), buf);
        if (!range && buf.entries[0]) this.host.noteStart(run, buf.entries[0].wall);
      }
      this.buffers = buffers;
      const queued = this.queued ?? [];
      this.queued = null;
      this.loading = false;
      for (const q of queued) this.applyPoints(q.run, q.points, true);
      this.error = null;
      this.setStatus('');
      this.render();
    } catch (err) {
      if (seq !== this.loadSeq || (err as Error).name === 'AbortError') return;
      this.loading = false;
      this.queued = null;
      this.error = (err as Error).message;
      this.setStatus('could not load');
      this.summaryEl.textContent = `${this.plan.title}: ${this.error}`;
      this.el.classList.add('has-error');
    }
  }

  /** Folds live points of `run` in; returns whether anything this chart shows changed. */
  livePoints(run: string, points: readonly LivePointLike[]): boolean {
    if (!this.active) return false;
    if (this.queued) {
      this.queued.push({ run, points });
      return false;
    }
    return this.applyPoints(run, points, false);
  }

  /** The last step drawn of `run`: the zoomed range's end, capped at an ancestor's fork step; null: no limit. */
  private toOf(run: ChartRun): number | null {
    const to = this.host.range?.to ?? null;
    if (run.until === undefined) return to;
    return to === null ? run.until : Math.min(to, run.until);
  }

  private applyPoints(run: string, points: readonly LivePointLike[], skipKnown: boolean): boolean {
    const ref = this.host.runs.find((r) => r.id === run);
    if (!ref) return false;
    let changed = false;
    let reload = false;
    const range = this.host.range;
    for (const metric of this.inputs) {
      const key = bufferKey(run, metric);
      let buf = this.buffers.get(key);
      for (const p of points) {
        const v = p.values[metric];
        if (v === undefined) continue;
        if (!buf)
          this.buffers.set(key, (buf = new SeriesBuffer(this.host.budget, range?.from ?? null, this.toOf(ref))));
        if (skipKnown && buf.lastStep !== null && p.step <= buf.lastStep) continue;
        const r = buf.append(p.step, v, p.wall);
        if (r !== 'ignored') changed = true;
        if (r === 'stale' || r === 'overflow') reload = true;
      }
    }
    if (reload) this.scheduleReload();
    if (changed) this.dirty = true;
    return changed;
  }

  private scheduleReload(): void {
    if (this.reloadTimer || this.loading) return;
    const wait = Math.max(0, this.lastLoadAt + RELOAD_THROTTLE_MS - performance.now());
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      void this.load();
    }, wait);
  }

  setLog(log: boolean): void {
    this.log = log;
    this.dirty = true;
    if (this.chart) {
      this.chart.options = this.options();
      this.render();
    }
  }

  /** The entries a run draws on this chart: its metric's buffer, or the derived join of its inputs. */
  private entriesFor(run: string): { entries: readonly Entry[]; raw: boolean } | null {
    if (this.plan.metric) {
      const buf = this.buffers.get(bufferKey(run, this.plan.metric));
      return buf ? { entries: buf.entries, raw: buf.raw } : null;
    }
    const derived = this.plan.derived!;
    const inputs = derived.inputs.map((m) => this.buffers.get(bufferKey(run, m)));
    if (inputs.some((b) => !b)) return null;
    return deriveEntries(inputs as SeriesBuffer[], derived.combine, this.host.budget);
  }

  private xOf(run: ChartRun, raw: boolean): (e: Entry) => number {
    switch (this.host.xAxis) {
      case 'step':
        return raw ? (e) => e.start : (e) => (e.start + e.end) / 2;
      case 'wall':
        return (e) => e.wall;
      case 'relative':
        return (e) => e.wall - run.start;
    }
  }

  /** Rebuilds the datasets from the buffers and redraws (no animation). */
  render(): void {
    const chart = this.chart;
    if (!chart) return;
    this.dirty = false;
    this.drawnExtent = this.host.extent;
    const log = this.log;
    const pass: RenderPass = {
      datasets: [],
      markerPoints: [],
      summary: [],
      top: -Infinity,
      bottom: Infinity,
      ok: (y: number | null): y is number => y !== null && Number.isFinite(y) && (!log || y > 0),
    };
    for (const run of this.host.runs) this.renderRun(pass, run);
    // Markers sit on the top edge of the data (the y of a NaN has no meaning).
    const markerY = Number.isFinite(pass.top) ? pass.top : log ? 1 : 0;
    for (const { points } of pass.markerPoints) for (const p of points) p.y = markerY;
    chart.data.datasets = pass.datasets;
    this.applyScales(chart, pass.top, pass.bottom);
    chart.update('none');
    this.paintSummary(pass);
  }

  /** Adds one run's datasets (band, line, smoothed line, non-finite marks, markers) and its summary sentence. */
  private renderRun(pass: RenderPass, run: ChartRun): void {
    const got = this.entriesFor(run.id);
    if (!got || got.entries.length === 0) return;
    const { entries, raw } = got;
    const x = this.xOf(run, raw);
    const base = { run: run.id, runName: run.name };
    const hasBand = !raw && this.plan.metric !== null;
    if (hasBand) this.addBand(pass, run, entries, x, base);
    const smoothing = this.host.smoothing;
    const smoothed = smoothing > 0 ? smoothEntries(entries, smoothing) : null;
    const series = this.lineSeries(pass, run, entries, x, smoothed, hasBand);
    this.addLines(pass, run, base, series, smoothed !== null, entries.length < 80);
    if (series.bad.length) {
      const nonfinite = chartTheme().marker(NONFINITE_COLOR);
      const ds: GwDataset = {
        label: `${run.name} non-finite`,
        data: series.bad,
        showLine: false,
        pointStyle: 'triangle',
        pointRadius: 5,
        pointHoverRadius: 7,
        borderColor: nonfinite,
        backgroundColor: nonfinite,
      };
      addDataset(pass, ds, { ...base, role: 'nonfinite', color: nonfinite });
      pass.markerPoints.push({ ds, points: series.bad });
    }
    this.addMarkers(pass, run, base, entries, raw);
    pass.summary.push(this.runSummary(run, entries, raw, pass.top, series.bad.length));
  }

  /** The min–max envelope of a bucketed series, as two datasets filled between. */
  private addBand(
    pass: RenderPass,
    run: ChartRun,
    entries: readonly Entry[],
    x: (e: Entry) => number,
    base: { run: string; runName: string },
  ): void {
    const lo: GwPoint[] = [];
    const hi: GwPoint[] = [];
    for (const e of entries) {
      if (!pass.ok(e.min) || !pass.ok(e.max)) continue;
      const xv = x(e);
      lo.push({ x: xv, y: e.min, e });
      hi.push({ x: xv, y: e.max, e });
      if (e.max > pass.top) pass.top = e.max;
      if (e.min < pass.bottom) pass.bottom = e.min;
    }
    // The envelope's edges are stroked, not only filled: a one-bucket spike is a 1-px sliver of fill but a clear line.
    const edge = withAlpha(run.color, this.host.compare ? 0.45 : 0.6);
    const bandEdge = { borderWidth: 1, borderColor: edge, pointRadius: 0, pointHoverRadius: 0 };
    addDataset(
      pass,
      { label: `${run.name} min`, data: lo, ...bandEdge, fill: false, backgroundColor: 'transparent' },
      { ...base, role: 'band-lo' },
    );
    addDataset(
      pass,
      {
        label: `${run.name} max`,
        data: hi,
        ...bandEdge,
        fill: '-1',
        backgroundColor: withAlpha(run.color, this.host.compare ? 0.14 : 0.22),
      },
      { ...base, role: 'band-hi' },
    );
  }

  /** The mean line, its smoothed twin and the non-finite marks of one run (the y extent grows with the line). */
  private lineSeries(
    pass: RenderPass,
    run: ChartRun,
    entries: readonly Entry[],
    x: (e: Entry) => number,
    smoothed: ReturnType<typeof smoothEntries> | null,
    hasBand: boolean,
  ): { line: GwPoint[]; smooth: GwPoint[]; bad: GwPoint[] } {
    const line: GwPoint[] = [];
    const smooth: GwPoint[] = [];
    const bad: GwPoint[] = [];
    entries.forEach((e, i) => {
      const xv = x(e);
      if (pass.ok(e.mean)) {
        const p: GwPoint = { x: xv, y: e.mean, e };
        if (smoothed) p.s = smoothed[i];
        line.push(p);
        if (!hasBand) {
          if (e.mean > pass.top) pass.top = e.mean;
          if (e.mean < pass.bottom) pass.bottom = e.mean;
        }
      }
      if (smoothed && pass.ok(smoothed[i]!)) smooth.push({ x: xv, y: smoothed[i], e, s: smoothed[i] });
      if (e.nonfinite > 0) {
        const text = e.bad
          ? `${e.bad} at step ${e.start}`
          : `${e.nonfinite} non-finite value${e.nonfinite > 1 ? 's' : ''} in steps ${fmtStep(e.start)}–${fmtStep(e.end)}`;
        bad.push({ x: xv, y: 0, e, text: this.host.compare ? `${run.name}: ${text}` : text });
      }
    });
    return { line, smooth, bad };
  }

  private addLines(
    pass: RenderPass,
    run: ChartRun,
    base: { run: string; runName: string },
    series: { line: GwPoint[]; smooth: GwPoint[] },
    smoothed: boolean,
    few: boolean,
  ): void {
    addDataset(
      pass,
      {
        label: run.name,
        data: series.line,
        borderColor: smoothed ? withAlpha(run.color, 0.4) : run.color,
        backgroundColor: run.color,
        borderWidth: smoothed ? 1 : 1.5,
        pointRadius: few ? 2 : 0,
        pointHoverRadius: 3,
        fill: false,
        tension: 0,
      },
      { ...base, role: 'line' },
    );
    if (!smoothed) return;
    addDataset(
      pass,
      {
        label: `${run.name} (smoothed)`,
        data: series.smooth,
        borderColor: run.color,
        backgroundColor: run.color,
        borderWidth: 2,
        pointRadius: 0,
        pointHoverRadius: 0,
        fill: false,
        tension: 0,
      },
      { ...base, role: 'smooth' },
    );
  }

  /** The run's event markers, then its connection gaps, each one dataset. */
  private addMarkers(
    pass: RenderPass,
    run: ChartRun,
    base: { run: string; runName: string },
    entries: readonly Entry[],
    raw: boolean,
  ): void {
    const markers = this.host.markers(run.id, this.inputs);
    const gaps = markers.filter((m) => m.kind === 'gap');
    const events = markers.filter((m) => m.kind !== 'gap');
    for (const [list, role, pointStyle] of [
      [events, 'event', 'rectRot'],
      [gaps, 'gap', 'rect'],
    ] as const) {
      const ds = this.markerDataset(run, list, role, pointStyle, entries, raw);
      if (!ds) continue;
      addDataset(pass, ds.ds, { ...base, role, color: chartTheme().marker(list[0]!.color) });
      pass.markerPoints.push(ds);
    }
  }

  /** One sentence for screen readers; `top` is the highest value drawn so far on this chart. */
  private runSummary(run: ChartRun, entries: readonly Entry[], raw: boolean, top: number, bad: number): string {
    const last = entries[entries.length - 1]!;
    return `${this.host.compare ? `${run.name}: ` : ''}${raw ? `${entries.length} points` : `${entries.length} buckets`} over steps ${fmtStep(entries[0]!.start)}–${fmtStep(last.end)}, last ${fmtValue(last.last ?? last.mean)}${Number.isFinite(top) ? `, highest ${fmtValue(top)}` : ''}${bad ? `, ${bad} with non-finite values` : ''}`;
  }

  private applyScales(chart: Chart<'line', GwPoint[]>, top: number, bottom: number): void {
    const xs = chart.options.scales!.x!;
    const bounds = this.xBounds();
    xs.min = bounds?.min;
    xs.max = bounds?.max;
    // A constant series (an accuracy pinned at 0.6) would otherwise get an axis spanning the rounding noise of its
    // smoothed curve, drawing a flat line as wild jumps: give it a range around its value instead.
    const ys = chart.options.scales!.y!;
    const flat =
      !this.log && Number.isFinite(top) && top - bottom <= 1e-9 * Math.max(Math.abs(top), Math.abs(bottom), 1e-300);
    const pad = flat ? Math.abs(top) * 0.1 || 1 : 0;
    ys.suggestedMin = flat ? bottom - pad : undefined;
    ys.suggestedMax = flat ? top + pad : undefined;
  }

  /** The text summary, the status line, and the first-draw report to the host. */
  private paintSummary(pass: RenderPass): void {
    const empty = pass.datasets.length === 0;
    this.summaryEl.textContent = `${this.plan.title}. ${pass.summary.join('. ') || 'No data yet'}.`;
    this.el.classList.toggle('is-empty', empty);
    if (empty && !this.loading && !this.error) this.setStatus('no data yet');
    else if (!this.loading && !this.error) this.setStatus('');
    if (this.drawnAt === null && !this.loading) {
      this.drawnAt = performance.now();
      this.el.dataset.drawn = 'true';
      this.host.drawn(this);
    }
  }

  /** One dataset of markers (one point each, on the top edge later), or null when none falls on this x axis. */
  private markerDataset(
    run: ChartRun,
    markers: readonly ChartMarker[],
    role: 'event' | 'gap',
    pointStyle: 'rectRot' | 'rect',
    entries: readonly Entry[],
    raw: boolean,
  ): { ds: GwDataset; points: GwPoint[] } | null {
    const points: GwPoint[] = [];
    for (const m of markers) {
      const xv = this.markerX(run, m.step, entries, raw);
      if (xv === null) continue;
      points.push({ x: xv, y: 0, text: this.host.compare ? `${run.name}: ${m.text}` : m.text });
    }
    if (!points.length) return null;
    points.sort((a, b) => a.x - b.x);
    const ds: GwDataset = {
      label: `${run.name} ${role === 'gap' ? 'connection gaps' : 'markers'}`,
      data: points,
      showLine: false,
      pointStyle,
      pointRadius: 5,
      pointHoverRadius: 7,
      borderColor: chartTheme().marker(markers[0]!.color),
      backgroundColor: markers.map((m) => chartTheme().marker(m.color)),
    };
    return { ds, points };
  }

  /** Where a marker at `step` goes on the x axis (time axes need the wall time of that step). */
  private markerX(run: ChartRun, step: number, entries: readonly Entry[], raw: boolean): number | null {
    if (this.host.xAxis === 'step') return step;
    if (!entries.length) return null;
    let lo = 0;
    let hi = entries.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid]!.end < step) lo = mid + 1;
      else hi = mid;
    }
    const e = entries[lo]!;
    return this.xOf(run, raw)(e);
  }

  private xBounds(): { min: number; max: number } | null {
    if (this.host.xAxis !== 'step') return null;
    const r = this.host.range ?? this.host.extent;
    if (!r || r.to <= r.from) return null;
    return { min: r.from, max: r.to };
  }

  private options(): NonNullable<ConstructorParameters<typeof Chart<'line', GwPoint[]>>[1]['options']> {
    const xAxis = (): XAxis => this.host.xAxis;
    const colours = scaleColours();
    return {
      ...STATIC_LINE_OPTIONS,
      events: ['mousemove', 'mouseout', 'click', 'touchstart', 'touchmove'],
      interaction: { mode: 'gwCurves', intersect: false },
      plugins: {
        tooltip: {
          animation: false,
          callbacks: {
            title: (items) => {
              const p = items[0]?.raw as GwPoint | undefined;
              if (!p) return '';
              const e = p.e;
              const where = xAxis() === 'step' ? '' : ` (${formatX(xAxis(), p.x)})`;
              if (!e) return formatX(xAxis(), p.x);
              return e.start === e.end ? `step ${e.start}${where}` : `steps ${e.start}–${e.end}${where}`;
            },
            label: (item) => {
              const info = datasetInfo.get(item.dataset);
              const p = item.raw as GwPoint;
              if (!info) return '';
              if (MARKER_ROLES.has(info.role)) return p.text ?? '';
              const who = this.host.compare ? `${info.runName}: ` : '';
              const e = p.e;
              const sm = p.s !== undefined && Number.isFinite(p.s) ? ` · smoothed ${fmtValue(p.s)}` : '';
              if (!e) return `${who}${fmtValue(p.y)}`;
              if (e.start === e.end || this.plan.metric === null) return `${who}${fmtValue(e.mean)}${sm}`;
              const nf = e.nonfinite ? `, ${e.nonfinite} non-finite` : '';
              return `${who}mean ${fmtValue(e.mean)} · min ${fmtValue(e.min)} · max ${fmtValue(e.max)} (${e.count} pts${nf})${sm}`;
            },
          },
        },
      },
      scales: {
        x: {
          type: 'linear',
          ticks: { ...colours.ticks, maxTicksLimit: 7, maxRotation: 0, callback: (v) => formatX(xAxis(), Number(v)) },
          grid: colours.grid,
          border: colours.border,
        },
        y: {
          type: this.log ? 'logarithmic' : 'linear',
          ticks: { ...colours.ticks, maxTicksLimit: 6, callback: (v) => fmtValue(Number(v)) },
          grid: colours.grid,
          border: colours.border,
        },
      },
    };
  }

  private setStatus(text: string): void {
    this.statusEl.textContent = text;
    if (!this.error) this.el.classList.remove('has-error');
  }

  /** Step at an x value of the current axis (exact on the step axis, via the nearest drawn entry on time axes). */
  private stepAt(x: number, edge: 'start' | 'end'): number {
    if (this.host.xAxis === 'step') return edge === 'start' ? Math.floor(x) : Math.ceil(x);
    const line = this.chart?.data.datasets.find((d) => datasetInfo.get(d)?.role === 'line');
    const data = line?.data ?? [];
    const i = nearestIndex(data, x);
    const e = data[i]?.e;
    if (!e) return 0;
    return edge === 'start' ? e.start : e.end;
  }

  /** Zooms to the x interval [x0, x1] (axis units). */
  private zoomX(x0: number, x1: number): void {
    let from = Math.max(0, this.stepAt(Math.min(x0, x1), 'start'));
    let to = this.stepAt(Math.max(x0, x1), 'end');
    if (to - from < 4) {
      const mid = (from + to) / 2;
      from = Math.max(0, Math.floor(mid - 2));
      to = from + 4;
    }
    const ext = this.host.extent;
    if (ext && from <= ext.from && to >= ext.to) this.host.zoom(null);
    else this.host.zoom({ from, to });
  }

  private currentX(): { min: number; max: number } | null {
    // On the step axis the shared range is ahead of the drawn scale (keys pressed faster than frames are drawn).
    const bounds = this.xBounds();
    if (bounds) return bounds;
    const s = this.chart?.scales.x;
    return s ? { min: s.min, max: s.max } : null;
  }

  /** Drag to zoom (Shift-drag pans), double-click to reset, Ctrl/Alt/⌘ + wheel and the keyboard zoom and pan. */
  private attachInteractions(): void {
    const box = this.canvasBox;
    box.addEventListener('pointerdown', (ev) => this.dragStart(ev));
    box.addEventListener('pointermove', (ev) => this.dragMove(ev));
    box.addEventListener('pointerup', (ev) => this.dragEnd(ev));
    box.addEventListener('pointercancel', () => {
      this.drag = null;
      this.selection.hidden = true;
    });
    box.addEventListener('dblclick', () => this.host.zoom(null));
    box.addEventListener('wheel', (ev) => this.wheelZoom(ev), { passive: false });
    box.addEventListener('keydown', (ev) => {
      if (this.keyZoom(ev.key)) ev.preventDefault();
    });
  }

  private localX(ev: PointerEvent | WheelEvent): number {
    return ev.clientX - this.canvas.getBoundingClientRect().left;
  }

  private dragStart(ev: PointerEvent): void {
    if (ev.button !== 0 || !this.chart) return;
    const cur = this.currentX();
    if (!cur) return;
    this.drag = { x0: this.localX(ev), mode: ev.shiftKey ? 'pan' : 'select', min: cur.min, max: cur.max };
    this.canvasBox.setPointerCapture(ev.pointerId);
    if (this.drag.mode === 'pan') this.canvasBox.classList.add('panning');
  }

  /** Shows the selection being drawn, or moves the axis with the pointer while panning. */
  private dragMove(ev: PointerEvent): void {
    const drag = this.drag;
    if (!drag || !this.chart) return;
    const x = this.localX(ev);
    const area = this.chart.chartArea;
    if (drag.mode === 'select') {
      const a = Math.max(area.left, Math.min(drag.x0, x));
      const b = Math.min(area.right, Math.max(drag.x0, x));
      Object.assign(this.selection.style, {
        left: `${a}px`,
        width: `${Math.max(0, b - a)}px`,
        top: `${area.top}px`,
        height: `${area.bottom - area.top}px`,
      });
      this.selection.hidden = b - a < 3;
    } else {
      const perPx = (drag.max - drag.min) / Math.max(1, area.right - area.left);
      const shift = -(x - drag.x0) * perPx;
      const xs = this.chart.options.scales!.x!;
      xs.min = drag.min + shift;
      xs.max = drag.max + shift;
      this.chart.update('none');
    }
  }

  /** Zooms to the selection, or to where the pan ended (a click of under 6 px does nothing). */
  private dragEnd(ev: PointerEvent): void {
    if (!this.drag || !this.chart) return;
    const d = this.drag;
    this.drag = null;
    this.canvasBox.classList.remove('panning');
    this.selection.hidden = true;
    const x = this.localX(ev);
    if (Math.abs(x - d.x0) < 6) return;
    const scale = this.chart.scales.x!;
    if (d.mode === 'select') {
      this.zoomX(scale.getValueForPixel(d.x0) ?? d.min, scale.getValueForPixel(x) ?? d.max);
    } else {
      const perPx = (d.max - d.min) / Math.max(1, this.chart.chartArea.right - this.chart.chartArea.left);
      const shift = -(x - d.x0) * perPx;
      this.zoomX(d.min + shift, d.max + shift);
    }
  }

  private wheelZoom(ev: WheelEvent): void {
    // Plain wheel scrolls the page (a page of charts must stay scrollable); Ctrl/Alt/⌘ + wheel zooms.
    if (!(ev.ctrlKey || ev.altKey || ev.metaKey) || !this.chart) return;
    ev.preventDefault();
    const cur = this.currentX();
    if (!cur) return;
    const at = this.chart.scales.x!.getValueForPixel(this.localX(ev)) ?? (cur.min + cur.max) / 2;
    const f = ev.deltaY > 0 ? 1.5 : 1 / 1.5;
    this.zoomX(at - (at - cur.min) * f, at + (cur.max - at) * f);
  }

  /** + / − zoom, ← / → pan, 0 or Escape resets; true when the key was one of these. */
  private keyZoom(key: string): boolean {
    const cur = this.currentX();
    if (!cur) return false;
    const span = cur.max - cur.min;
    const mid = (cur.min + cur.max) / 2;
    switch (key) {
      case '+':
      case '=':
        this.zoomX(mid - span / 4, mid + span / 4);
        return true;
      case '-':
      case '_':
        this.zoomX(mid - span, mid + span);
        return true;
      case 'ArrowLeft':
        this.zoomX(cur.min - span / 4, cur.max - span / 4);
        return true;
      case 'ArrowRight':
        this.zoomX(cur.min + span / 4, cur.max + span / 4);
        return true;
      case '0':
      case 'Escape':
        this.host.zoom(null);
        return true;
      default:
        return false;
    }
  }

  /** Whether a dataset of `role` currently draws the point (x, y); x null matches any x. */
  hasPoint(role: string, x: number | null, y: number): boolean {
    return (this.chart?.data.datasets ?? []).some(
      (ds) => datasetInfo.get(ds)?.role === role && ds.data.some((p) => (x === null || p.x === x) && p.y === y),
    );
  }

  snapshot(): ChartSnapshot {
    const sources: ChartSnapshot['sources'] = [];
    for (const [key, buf] of this.buffers) {
      const [run, metric] = key.split('\u0000') as [string, string];
      sources.push({ run, metric, mode: buf.raw ? 'raw' : 'buckets', entries: buf.entries.length });
    }
    const datasets = (this.chart?.data.datasets ?? []).map((ds) => {
      const info = datasetInfo.get(ds);
      const pts = ds.data;
      const out: ChartSnapshot['datasets'][number] = {
        role: info?.role ?? 'unknown',
        run: info?.run ?? '',
        label: ds.label ?? '',
        points: pts.map((p) => [p.x, p.y]),
      };
      if (typeof ds.borderColor === 'string') out.color = ds.borderColor;
      if (info && MARKER_ROLES.has(info.role)) out.texts = pts.map((p) => p.text ?? '');
      return out;
    });
    const xs = this.chart?.scales.x;
    const ys = this.chart?.scales.y;
    const tip = this.chart?.tooltip;
    const tooltip =
      tip && tip.opacity > 0 && tip.getActiveElements().length
        ? { title: [...(tip.title ?? [])], lines: (tip.body ?? []).flatMap((b) => b.lines) }
        : null;
    return {
      key: this.plan.key,
      title: this.plan.title,
      drawn: this.drawnAt !== null,
      // A reload that is due (zoom, reconnect) counts as loading: the drawn data is about to be replaced.
      loading: this.loading || this.needsLoad,
      error: this.error,
      log: this.log,
      xMin: xs ? xs.min : null,
      xMax: xs ? xs.max : null,
      yMin: ys ? ys.min : null,
      yMax: ys ? ys.max : null,
      sources,
      tooltip,
      datasets,
    };
  }
}

export function formatX(axis: XAxis, x: number): string {
  if (axis === 'step') return fmtStep(x);
  if (axis === 'wall') return fmtClock(x);
  return fmtDuration(x);
}
