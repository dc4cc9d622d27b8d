// A distribution over steps, TensorBoard-style: nested quantile bands (min–max, 10–90 %, 25–75 %) around the median,
// one colour per distribution (D(real) and D(fake) on one chart), and a click picks the step whose histogram is shown.
import type { DistributionRecord } from '../../../protocol/distributions.js';
import { histogramQuantile } from '../../../protocol/histogram.js';
import { fmtValue } from '../format.js';
import { onThemeChange } from '../theme.js';
import {
  Chart,
  datasetInfo,
  registerCharts,
  STATIC_LINE_OPTIONS,
  type GwDataset,
  type GwPoint,
} from './chart-setup.js';
import { chartTheme, scaleColours } from './chart-theme.js';
import { NONFINITE_COLOR, withAlpha } from './colors.js';

/** One distribution drawn on a chart. */
export interface DistributionSeries {
  name: string;
  /** What the legend calls it (`real`, `fake`, or the name). */
  label: string;
  color: string;
  records: readonly DistributionRecord[];
}

/** The bands, widest first, as pairs of quantiles, with how opaque each one's fill is. */
export const BANDS: ReadonlyArray<{ lo: number; hi: number; alpha: number; role: string }> = [
  { lo: 0, hi: 1, alpha: 0.1, role: 'min-max' },
  { lo: 0.1, hi: 0.9, alpha: 0.18, role: 'q10-q90' },
  { lo: 0.25, hi: 0.75, alpha: 0.3, role: 'q25-q75' },
];

/** A dataset as drawn: which series, which role (`min-max:lo`, `q25-q75:hi`, `median`, `nonfinite`), its points. */
export interface BandDatasetSnapshot {
  series: string;
  role: string;
  points: Array<[number, number]>;
}

type Options = NonNullable<ConstructorParameters<typeof Chart<'line', GwPoint[]>>[1]['options']>;

export class DistributionChart {
  private chart: Chart<'line', GwPoint[]> | null = null;
  private series: readonly DistributionSeries[] = [];
  private selected: number | null = null;
  private readonly roles = new WeakMap<object, { series: string; role: string }>();
  private readonly offTheme: () => void;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    /** Called with the step of the record nearest a click. */
    private readonly onPick: (step: number) => void,
    /** Called with a line describing the quantiles at the step under the pointer ('' when it leaves). */
    private readonly onHover: (text: string) => void,
  ) {
    registerCharts();
    this.offTheme = onThemeChange(() => {
      if (!this.chart) return;
      this.chart.options = this.options();
      this.chart.data.datasets = this.datasets();
      this.chart.update('none');
    });
  }

  setSeries(series: readonly DistributionSeries[]): void {
    this.series = series;
    if (!this.chart) {
      this.chart = new Chart<'line', GwPoint[]>(this.canvas, {
        type: 'line',
        data: { datasets: this.datasets() },
        options: this.options(),
        plugins: [this.selectedLine()],
      });
    } else {
      this.chart.data.datasets = this.datasets();
      this.chart.update('none');
    }
  }

  select(step: number | null): void {
    this.selected = step;
    this.chart?.draw();
  }

  destroy(): void {
    this.offTheme();
    this.chart?.destroy();
    this.chart = null;
  }

  get drawn(): boolean {
    return this.chart !== null && this.chart.chartArea !== undefined;
  }

  /** The plot area (CSS pixels of the canvas) and the steps at its left and right edges, or null before drawing. */
  area(): { left: number; right: number; top: number; bottom: number; min: number; max: number } | null {
    const x = this.chart?.scales.x;
    const a = this.chart?.chartArea;
    if (!x || !a) return null;
    return { left: a.left, right: a.right, top: a.top, bottom: a.bottom, min: x.min, max: x.max };
  }

  snapshot(): BandDatasetSnapshot[] {
    return (this.chart?.data.datasets ?? []).map((ds) => {
      const r = this.roles.get(ds) ?? { series: '', role: '' };
      return { series: r.series, role: r.role, points: ds.data.map((p) => [p.x, p.y] as [number, number]) };
    });
  }

  private datasets(): GwDataset[] {
    const out: GwDataset[] = [];
    const add = (ds: GwDataset, series: string, role: string): void => {
      this.roles.set(ds, { series, role });
      out.push(ds);
    };
    for (const s of this.series) {
      const at = (q: number): GwPoint[] =>
        s.records.map((r) => ({ x: r.step, y: histogramQuantile(r, q) })).filter((p) => Number.isFinite(p.y));
      const flat = { borderWidth: 0, pointRadius: 0, pointHitRadius: 0, tension: 0 };
      for (const band of BANDS) {
        add({ ...flat, data: at(band.lo), fill: false }, s.name, `${band.role}:lo`);
        add(
          { ...flat, data: at(band.hi), fill: '-1', backgroundColor: withAlpha(s.color, band.alpha) },
          s.name,
          `${band.role}:hi`,
        );
      }
      add(
        // Chart.js draws higher `order` first: the bands (0) under every median (−1), the NaN markers (−2) on top.
        { data: at(0.5), borderColor: s.color, borderWidth: 1.5, pointRadius: 0, tension: 0, fill: false, order: -1 },
        s.name,
        'median',
      );
      const bad = s.records.filter((r) => r.nonFinite > 0);
      if (bad.length) {
        const colour = chartTheme().marker(NONFINITE_COLOR);
        const ds: GwDataset = {
          data: bad.map((r) => ({ x: r.step, y: histogramQuantile(r, 0.5), text: `${r.nonFinite} non-finite` })),
          showLine: false,
          order: -2,
          pointStyle: 'triangle',
          pointRadius: 5,
          borderColor: colour,
          backgroundColor: colour,
        };
        // chart-setup's marker plugin draws a vertical line under every point of a 'nonfinite' dataset.
        datasetInfo.set(ds, { role: 'nonfinite', run: s.name, runName: s.label, color: colour });
        add(ds, s.name, 'nonfinite');
      }
    }
    return out;
  }

  /** The step picked: a dashed vertical line. */
  private selectedLine(): import('chart.js').Plugin<'line'> {
    return {
      id: 'gwSelectedStep',
      afterDatasetsDraw: (chart) => {
        const x = this.selected === null ? undefined : chart.scales.x?.getPixelForValue(this.selected);
        if (x === undefined || !Number.isFinite(x)) return;
        const { ctx, chartArea } = chart;
        ctx.save();
        ctx.strokeStyle = chartTheme().text;
        ctx.setLineDash([3, 3]);
        ctx.beginPath();
        ctx.moveTo(Math.round(x) + 0.5, chartArea.top);
        ctx.lineTo(Math.round(x) + 0.5, chartArea.bottom);
        ctx.stroke();
        ctx.restore();
      },
    };
  }

  /** The record of `s` nearest step x. */
  private nearest(s: DistributionSeries, x: number): DistributionRecord | null {
    let best: DistributionRecord | null = null;
    for (const r of s.records) if (!best || Math.abs(r.step - x) < Math.abs(best.step - x)) best = r;
    return best;
  }

  private stepAt(px: number): number | null {
    const x = this.chart?.scales.x?.getValueForPixel(px);
    if (x === undefined) return null;
    let best: number | null = null;
    for (const s of this.series) {
      const r = this.nearest(s, x);
      if (r && (best === null || Math.abs(r.step - x) < Math.abs(best - x))) best = r.step;
    }
    return best;
  }

  private describe(step: number): string {
    return this.series
      .map((s) => {
        const r = s.records.find((rec) => rec.step === step);
        if (!r) return `${s.label}: –`;
        const q = (p: number): string => fmtValue(histogramQuantile(r, p));
        const nf = r.nonFinite ? `, ${r.nonFinite} non-finite` : '';
        return `${s.label}: median ${q(0.5)}, 25–75 % ${q(0.25)}…${q(0.75)}, min–max ${q(0)}…${q(1)}${nf}`;
      })
      .join(' · ');
  }

  private options(): Options {
    const colours = scaleColours();
    return {
      ...STATIC_LINE_OPTIONS,
      events: ['mousemove', 'mouseout', 'click'],
      plugins: { tooltip: { enabled: false } },
      onHover: (ev) => {
        const step = ev.x === null ? null : this.stepAt(ev.x);
        this.onHover(step === null || ev.type === 'mouseout' ? '' : `step ${step} · ${this.describe(step)}`);
      },
      onClick: (ev) => {
        const step = ev.x === null ? null : this.stepAt(ev.x);
        if (step !== null) this.onPick(step);
      },
      scales: {
        x: {
          type: 'linear',
          ticks: { ...colours.ticks, maxTicksLimit: 7, maxRotation: 0 },
          grid: colours.grid,
          border: colours.border,
        },
        y: {
          type: 'linear',
          ticks: { ...colours.ticks, maxTicksLimit: 6, callback: (v) => fmtValue(Number(v)) },
          grid: colours.grid,
          border: colours.border,
        },
      },
    };
  }
}
