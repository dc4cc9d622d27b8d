// The runs table's parallel coordinates (chartjs-chart-pcp): one axis per numeric column of the table (config keys,
// metric aggregates; logarithmic where the values span decades), one line per filtered run, coloured by a chosen axis.
// Dragging along an axis brushes a range of it: the runs outside any brush are dimmed here and hidden in the table,
// and the brushed runs can be compared; the brushes are kept in the address (brushText/parseBrushes). Live points move
// the lines in place, at most once a second. Hovering a line names its run and values. The library has neither
// brushing nor a usable hover for thousands of lines: both are done here over its axes' scales.
import { registry, type Chart as ChartType, type ChartConfiguration, type Plugin, type Scale } from 'chart.js';
import {
  LinearAxis,
  LineSegment,
  LogarithmicAxis,
  LogarithmicParallelCoordinatesController,
  ParallelCoordinatesController,
  PCPScale,
} from 'chartjs-chart-pcp';
import type { RunRow } from '../../../protocol/index.js';
import type { Field } from '../../../protocol/run-query.js';
import { fill, h, uid } from '../dom.js';
import { fmtValue } from '../format.js';
import { onThemeChange, themeColor } from '../theme.js';
import {
  axesOf,
  brushText,
  drawable,
  insideBrushes,
  lineAt,
  parseBrushes,
  ramp,
  type Axis,
  type Brush,
} from './parallel-coordinates-axes.js';
import { Chart, registerCharts } from './chart-setup.js';
import { chartTheme } from './chart-theme.js';

const MAX_COMPARE = 10;
/** How far (CSS px) from an axis a drag still brushes it. */
const GRAB_PX = 18;
/** A drag shorter than this is a click: it clears the axis' brush. */
const CLICK_PX = 3;
/** Live points redraw the lines at most this often. */
const LIVE_MS = 1000;
/** How far (CSS px) from a line the pointer still names its run. */
const HOVER_PX = 6;

export interface ParallelCoordinatesHost {
  /** The runs the brushes keep (null: no brush, every run). */
  onBrush(keep: ReadonlySet<string> | null): void;
  /** The brushes changed (a drag ended, a clear, an axis gone): their text for the address ('' for none). */
  onBrushesChanged(text: string): void;
  onCompare(ids: string[]): void;
}

/** What the browser tests read: the drawn lines and each axis' place on the canvas (CSS px). */
export interface PlotAxisGeometry {
  key: string;
  log: boolean;
  x: number;
  top: number;
  bottom: number;
  /** The values at the bottom and the top. */
  min: number;
  max: number;
}

let registered = false;
function register(): void {
  registerCharts();
  if (registered) return;
  registered = true;
  // The axes are elements of the library's datasets (the controllers' datasetElementType), not chart scales.
  registry.addControllers(ParallelCoordinatesController, LogarithmicParallelCoordinatesController);
  registry.addElements(LinearAxis, LogarithmicAxis, LineSegment);
  registry.addScales(PCPScale);
}

export class ParallelCoordinates {
  readonly el: HTMLDetailsElement;
  private readonly plot: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly colorSelect: HTMLSelectElement;
  private readonly status: HTMLElement;
  private readonly compareBtn: HTMLButtonElement;
  private readonly clearBtn: HTMLButtonElement;
  private chart: ChartType | null = null;
  private runs: readonly RunRow[] = [];
  private columns: readonly Field[] = [];
  /** The runs drawn (a value on every axis), and the axes over them. */
  private drawn: RunRow[] = [];
  private axes: Axis[] = [];
  private readonly brushes = new Map<string, Brush>();
  /** Per drawn run: its colour, and whether the brushes keep it. */
  private colors: string[] = [];
  private inside: boolean[] = [];
  private pending = 0;
  /** Whether update() has given runs yet: until then brushes from the address wait for their axes. */
  private hasData = false;
  /** The brushes' text last told to the host. */
  private reported = '';
  private liveTimer: ReturnType<typeof setTimeout> | undefined;
  private lastDraw = -Infinity;
  private readonly tooltip: HTMLElement;
  private hoverFrame = 0;
  private readonly offTheme: () => void;

  /** `brushes`: the text of brushes to restore (from the address); with any, the plot opens. */
  constructor(
    private readonly host: ParallelCoordinatesHost,
    brushes = '',
  ) {
    const colorId = uid('pcp-color');
    this.colorSelect = h('select', { id: colorId });
    this.status = h('span', { class: 'muted-text', role: 'status' });
    this.compareBtn = h('button', { type: 'button', disabled: true }, 'Compare brushed');
    this.clearBtn = h('button', { type: 'button', disabled: true }, 'Clear brushes');
    this.canvas = h('canvas', {
      role: 'img',
      'aria-label': 'Parallel coordinates of the filtered runs; drag along an axis to brush a range',
    });
    this.tooltip = h('div', { class: 'pcp-tooltip', role: 'tooltip', hidden: true });
    this.plot = h('div', { class: 'pcp-plot' }, this.canvas, this.tooltip);
    for (const [key, b] of parseBrushes(brushes)) this.brushes.set(key, b);
    this.reported = brushText(this.brushes);
    this.el = h(
      'details',
      { class: 'pcp-panel', open: this.brushes.size > 0 },
      h('summary', null, 'Parallel coordinates'),
      h(
        'div',
        { class: 'inline-controls' },
        h('span', { class: 'field' }, h('label', { for: colorId }, 'Colour by'), this.colorSelect),
        this.status,
        h('span', { class: 'spacer' }),
        this.clearBtn,
        this.compareBtn,
      ),
      h(
        'p',
        { class: 'muted-text pcp-help' },
        'Axes: the numeric columns of the table (Columns… adds more). Drag along an axis to keep a range; click an axis to clear its brush. Point at a line for its run.',
      ),
      this.plot,
    );
    this.el.addEventListener('toggle', () => this.redraw());
    this.colorSelect.addEventListener('change', () => this.restyle());
    this.clearBtn.addEventListener('click', () => {
      this.brushes.clear();
      this.restyle();
      this.reportBrushes();
    });
    this.compareBtn.addEventListener('click', () => this.host.onCompare(this.keptIds()));
    this.wireBrushing();
    this.wireHover();
    this.offTheme = onThemeChange(() => this.redraw());
  }

  /** New runs or columns: the plot is drawn again (when open); brushes on axes still shown are kept. */
  update(runs: readonly RunRow[], columns: readonly Field[]): void {
    this.runs = runs;
    this.columns = columns;
    this.hasData = true;
    clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
    this.redraw();
  }

  /**
   * The runs' values changed in place (live points): the lines move at most once per LIVE_MS, the chart kept (and the
   * brushes with it) unless the axes themselves changed.
   */
  liveUpdate(): void {
    if (this.liveTimer !== undefined || !this.chart) return;
    const wait = Math.max(0, this.lastDraw + LIVE_MS - performance.now());
    this.liveTimer = setTimeout(() => {
      this.liveTimer = undefined;
      this.refresh();
    }, wait);
  }

  dispose(): void {
    cancelAnimationFrame(this.pending);
    cancelAnimationFrame(this.hoverFrame);
    clearTimeout(this.liveTimer);
    this.offTheme();
    this.chart?.destroy();
    this.chart = null;
  }

  // --- model -----------------------------------------------------------------------------------------------
  private rebuildModel(): void {
    const all = axesOf(this.runs, this.columns);
    const ok = drawable(all, this.runs.length);
    this.drawn = this.runs.filter((_, i) => ok[i]);
    this.axes = axesOf(this.drawn, this.columns);
    if (this.hasData) {
      for (const key of [...this.brushes.keys()]) if (!this.axes.some((a) => a.key === key)) this.brushes.delete(key);
      this.reportBrushes();
    }
    const chosen = this.colorSelect.value;
    this.colorSelect.replaceChildren(...this.axes.map((a) => h('option', { value: a.key }, a.label)));
    const metric = this.axes.find((a) => !a.key.startsWith('config.'));
    this.colorSelect.value = this.axes.some((a) => a.key === chosen) ? chosen : ((metric ?? this.axes[0])?.key ?? '');
  }

  /** Colours and the brushed set from the model; tells the table which runs to show. */
  private restyleModel(): void {
    const by = this.axes.find((a) => a.key === this.colorSelect.value);
    const low = themeColor('--pcp-low', '#2166ac');
    const high = themeColor('--pcp-high', '#d6604d');
    const dim = themeColor('--pcp-dim', 'rgba(128, 128, 128, 0.12)');
    const place = by ? ramp(by) : (): number => 0.5;
    this.inside = this.drawn.map((_, i) => insideBrushes(this.axes, this.brushes, i));
    this.colors = this.drawn.map((_, i) => (this.inside[i] ? mix(low, high, by ? place(by.values[i]!) : 0.5) : dim));
    const kept = this.brushes.size ? new Set(this.keptIds()) : null;
    const n = kept?.size ?? 0;
    const hiddenNote =
      this.runs.length > this.drawn.length
        ? `; ${this.runs.length - this.drawn.length} without a value on every axis not drawn`
        : '';
    this.status.textContent = kept
      ? `${n} of ${this.drawn.length} runs brushed${hiddenNote}`
      : `${this.drawn.length} runs${hiddenNote}`;
    this.compareBtn.textContent = `Compare brushed (${n})`;
    this.compareBtn.disabled = !kept || n < 2 || n > MAX_COMPARE;
    this.compareBtn.title = kept && n > MAX_COMPARE ? `At most ${MAX_COMPARE} runs` : '';
    this.clearBtn.disabled = !kept;
    this.plot.dataset.lines = String(this.drawn.length);
    this.plot.dataset.brushed = String(n);
    this.host.onBrush(kept);
  }

  private keptIds(): string[] {
    return this.drawn.filter((_, i) => this.inside[i]).map((r) => r.id);
  }

  // --- drawing ---------------------------------------------------------------------------------------------
  private redraw(): void {
    this.chart?.destroy();
    this.chart = null;
    this.hideTooltip();
    if (!this.el.open) {
      // A closed plot brushes nothing: the table shows every run.
      if (this.brushes.size) {
        this.brushes.clear();
        this.host.onBrush(null);
        this.reportBrushes();
      }
      return;
    }
    register();
    this.rebuildModel();
    this.restyleModel();
    if (this.axes.length === 0) {
      this.status.textContent = 'No numeric column to draw: add config keys or metrics with Columns….';
      return;
    }
    const theme = chartTheme();
    const lineColor = (ctx: { dataIndex?: number }): string =>
      ctx.dataIndex === undefined ? theme.grid : (this.colors[ctx.dataIndex] ?? theme.grid);
    const config = {
      type: 'pcp',
      data: {
        labels: this.drawn.map((r) => r.name),
        datasets: this.axes.map((a) => ({
          type: a.log ? 'logarithmicPcp' : 'pcp',
          label: a.label,
          data: a.values,
          borderColor: lineColor,
          borderWidth: 1.2,
          ticks: { color: theme.text, callback: (v: number | string) => tickLabel(Number(v)) },
          grid: { display: false },
          border: { color: theme.text },
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        // No hover or tooltip: hit-testing thousands of segments per mouse move is slow, and the drag brushes.
        events: [],
        layout: { padding: { top: 8, bottom: 4, left: 8, right: 8 } },
        scales: { x: { ticks: { color: theme.text, font: { weight: 'bold' } } } },
        plugins: { tooltip: { enabled: false }, legend: { display: false } },
      },
      plugins: [this.brushPlugin()],
    };
    this.chart = new Chart(this.canvas, config as unknown as ChartConfiguration);
    this.lastDraw = performance.now();
    // For the benchmark: the frame after the plot was painted.
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('pcp-drawn')));
  }

  /** The same runs with new values: their lines move in place when the axes are the same, else the plot is redrawn. */
  private refresh(): void {
    if (!this.chart || !this.el.open) return;
    const before = axesShape(this.axes);
    this.rebuildModel();
    if (axesShape(this.axes) !== before) return this.redraw();
    this.chart.data.labels = this.drawn.map((r) => r.name);
    this.axes.forEach((a, i) => (this.chart!.data.datasets[i]!.data = a.values));
    // The axes are the datasets' elements, not the chart's scales: Chart.js' layout never tells them their data limits
    // are stale, so they are told here (else they keep the first draw's range).
    for (const { scale } of this.axisScales()) scale.beforeLayout?.();
    this.restyleModel();
    this.chart.update('none');
    this.lastDraw = performance.now();
    this.hideTooltip();
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('pcp-live-drawn')));
  }

  /** Tells the host the brushes' text when it changed since last told. */
  private reportBrushes(): void {
    const text = brushText(this.brushes);
    if (text === this.reported) return;
    this.reported = text;
    this.host.onBrushesChanged(text);
  }

  /** New colours only (a brush moved, another colour axis): the lines are restyled without rebuilding the chart. */
  private restyle(): void {
    if (!this.chart) return this.redraw();
    this.restyleModel();
    this.chart.update('none');
  }

  private axisScales(chart: ChartType | null = this.chart): Array<{ axis: Axis; scale: Scale & { x: number } }> {
    if (!chart) return [];
    return this.axes.map((axis, i) => ({
      axis,
      scale: chart.getDatasetMeta(i).dataset as unknown as Scale & { x: number },
    }));
  }

  /** Draws each brush as a band over its axis, and publishes the axes' places for the tests. */
  private brushPlugin(): Plugin {
    return {
      id: 'gwPcpBrushes',
      afterDatasetsDraw: (chart) => {
        const { ctx } = chart;
        const accent = themeColor('--accent', '#1f5fa8');
        const geometry: PlotAxisGeometry[] = [];
        for (const { axis, scale } of this.axisScales(chart)) {
          geometry.push({
            key: axis.key,
            log: axis.log,
            x: scale.x,
            top: scale.top,
            bottom: scale.bottom,
            min: scale.min,
            max: scale.max,
          });
          const b = this.brushes.get(axis.key);
          if (!b) continue;
          const y0 = scale.getPixelForValue(b[1]);
          const y1 = scale.getPixelForValue(b[0]);
          ctx.save();
          ctx.fillStyle = accent;
          ctx.globalAlpha = 0.22;
          ctx.fillRect(scale.x - 7, y0, 14, y1 - y0);
          ctx.globalAlpha = 1;
          ctx.strokeStyle = accent;
          ctx.lineWidth = 1.5;
          ctx.strokeRect(scale.x - 7, y0, 14, y1 - y0);
          ctx.restore();
        }
        this.plot.dataset.axes = JSON.stringify(geometry);
      },
    };
  }

  // --- brushing --------------------------------------------------------------------------------------------
  private wireBrushing(): void {
    this.canvas.addEventListener('pointerdown', (down) => {
      const at = this.canvasPoint(down);
      const hit = this.axisScales().find(
        ({ scale }) => Math.abs(scale.x - at.x) <= GRAB_PX && at.y >= scale.top - 4 && at.y <= scale.bottom + 4,
      );
      if (!hit) return;
      down.preventDefault();
      this.canvas.setPointerCapture(down.pointerId);
      const { axis, scale } = hit;
      const clampY = (y: number): number => Math.min(scale.bottom, Math.max(scale.top, y));
      const y0 = clampY(at.y);
      const brushTo = (y: number): void => {
        const a = scale.getValueForPixel(y0);
        const b = scale.getValueForPixel(clampY(y));
        if (a === undefined || b === undefined) return;
        this.brushes.set(axis.key, [Math.min(a, b), Math.max(a, b)]);
        this.restyleSoon();
      };
      const move = (e: PointerEvent): void => {
        const y = this.canvasPoint(e).y;
        if (Math.abs(y - y0) >= CLICK_PX) brushTo(y);
      };
      const up = (e: PointerEvent): void => {
        this.canvas.removeEventListener('pointermove', move);
        const y = this.canvasPoint(e).y;
        if (Math.abs(y - y0) < CLICK_PX) this.brushes.delete(axis.key);
        else brushTo(y);
        cancelAnimationFrame(this.pending);
        this.pending = 0;
        this.restyle();
        this.reportBrushes();
      };
      this.canvas.addEventListener('pointermove', move);
      this.canvas.addEventListener('pointerup', up, { once: true });
    });
  }

  /** During a drag: at most one restyle per frame. */
  private restyleSoon(): void {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.restyle();
    });
  }

  // --- hover ------------------------------------------------------------------------------------------------
  /** A pointer over the plot (no button down): the run of the nearest line, with its values, in a tooltip. */
  private wireHover(): void {
    this.canvas.addEventListener('pointermove', (e) => {
      if (e.buttons) return this.hideTooltip();
      const at = this.canvasPoint(e);
      cancelAnimationFrame(this.hoverFrame);
      this.hoverFrame = requestAnimationFrame(() => this.hover(at));
    });
    this.canvas.addEventListener('pointerleave', () => {
      cancelAnimationFrame(this.hoverFrame);
      this.hideTooltip();
    });
  }

  private hover(at: { x: number; y: number }): void {
    const scales = this.axisScales();
    const pixels = scales.map(({ axis, scale }) => ({
      x: scale.x,
      ys: axis.values.map((v) => (v === null ? NaN : scale.getPixelForValue(v))),
    }));
    // Lines the brushes keep are named before dimmed ones.
    const i = lineAt(pixels, at, HOVER_PX, (k) => this.inside[k] === true) ?? lineAt(pixels, at, HOVER_PX, () => true);
    if (i === null) return this.hideTooltip();
    const run = this.drawn[i]!;
    fill(
      this.tooltip,
      h('strong', null, run.name),
      h(
        'dl',
        null,
        scales.flatMap(({ axis }) => [h('dt', null, axis.label), h('dd', null, fmtValue(axis.values[i]))]),
      ),
    );
    this.tooltip.hidden = false;
    this.tooltip.dataset.run = run.id;
    const width = this.plot.clientWidth;
    const left = at.x + 14 + this.tooltip.offsetWidth > width ? at.x - 14 - this.tooltip.offsetWidth : at.x + 14;
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${Math.max(0, at.y - 10)}px`;
  }

  private hideTooltip(): void {
    if (this.tooltip.hidden) return;
    this.tooltip.hidden = true;
    delete this.tooltip.dataset.run;
  }

  private canvasPoint(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }
}

/** The axes' keys and scales: when they change, live values need the chart built again. */
function axesShape(axes: readonly Axis[]): string {
  return axes.map((a) => `${a.key}${a.log ? ':log' : ''}`).join(',');
}

/** The colour a fraction `t` of the way from `a` to `b` ('#rrggbb' both). */
function mix(a: string, b: string, t: number): string {
  const p = Number.parseInt(a.slice(1), 16);
  const q = Number.parseInt(b.slice(1), 16);
  const ch = (shift: number): number => Math.round(((p >> shift) & 255) * (1 - t) + ((q >> shift) & 255) * t);
  return `rgb(${ch(16)}, ${ch(8)}, ${ch(0)})`;
}

/** Short tick labels: 1e-4, 0.002, 16, 3.5e+5. */
function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e5 ? v.toExponential(0) : String(Number(v.toPrecision(3)));
}
