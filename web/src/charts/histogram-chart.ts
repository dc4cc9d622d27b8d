// The histogram of one or two distributions at one step, overlaid as filled step outlines. The y axis is density
// (count ÷ total ÷ bucket width): two histograms with different buckets (D(real) and D(fake) have their own ranges)
// are then drawn to the same scale and each encloses an area of 1.
import type { Histogram } from '../../../protocol/histogram.js';
import { histogramTotal } from '../../../protocol/histogram.js';
import { fmtValue } from '../format.js';
import { onThemeChange } from '../theme.js';
import { Chart, registerCharts, STATIC_LINE_OPTIONS, type GwDataset, type GwPoint } from './chart-setup.js';
import { scaleColours } from './chart-theme.js';
import { withAlpha } from './colors.js';

export interface HistogramSeries {
  name: string;
  label: string;
  color: string;
  histogram: Histogram;
}

/** The outline of a histogram as density: a point at each bucket's left edge, one at the right end, zero at both ends. */
export function densityOutline(h: Histogram, zeroWidth: number): GwPoint[] {
  const total = histogramTotal(h);
  const n = h.counts.length;
  if (!total || !n) return [];
  const edges = [...h.edges];
  // One distinct value: a zero-width bucket, drawn as a narrow bar of the given width around it.
  if (n === 1 && edges[1]! - edges[0]! <= 0) {
    edges[0] = edges[0]! - zeroWidth / 2;
    edges[1] = edges[1]! + zeroWidth / 2;
  }
  const pts: GwPoint[] = [{ x: edges[0]!, y: 0 }];
  for (let i = 0; i < n; i++) pts.push({ x: edges[i]!, y: h.counts[i]! / total / (edges[i + 1]! - edges[i]!) });
  pts.push({ x: edges[n]!, y: pts[pts.length - 1]!.y }, { x: edges[n]!, y: 0 });
  return pts;
}

export class HistogramChart {
  private chart: Chart<'line', GwPoint[]> | null = null;
  private readonly offTheme: () => void;

  constructor(private readonly canvas: HTMLCanvasElement) {
    registerCharts();
    this.offTheme = onThemeChange(() => {
      if (!this.chart) return;
      this.chart.options = options();
      this.chart.update('none');
    });
  }

  show(series: readonly HistogramSeries[]): void {
    // The width a single-value histogram is drawn with: 1 % of the span of the others, or of its own magnitude.
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series)
      if (s.histogram.edges.length) {
        lo = Math.min(lo, s.histogram.edges[0]!);
        hi = Math.max(hi, s.histogram.edges[s.histogram.edges.length - 1]!);
      }
    const zeroWidth = hi > lo ? (hi - lo) / 100 : Math.max(Math.abs(lo) / 100, 1e-3);
    const datasets: GwDataset[] = series.map((s) => ({
      label: s.label,
      data: densityOutline(s.histogram, zeroWidth),
      stepped: 'after',
      borderColor: s.color,
      borderWidth: 1.25,
      backgroundColor: withAlpha(s.color, 0.25),
      fill: 'origin',
      pointRadius: 0,
    }));
    if (!this.chart) {
      this.chart = new Chart<'line', GwPoint[]>(this.canvas, { type: 'line', data: { datasets }, options: options() });
    } else {
      this.chart.data.datasets = datasets;
      this.chart.update('none');
    }
  }

  /** The points drawn per series label. */
  snapshot(): Array<{ label: string; points: Array<[number, number]> }> {
    return (this.chart?.data.datasets ?? []).map((ds) => ({
      label: String(ds.label ?? ''),
      points: ds.data.map((p) => [p.x, p.y] as [number, number]),
    }));
  }

  destroy(): void {
    this.offTheme();
    this.chart?.destroy();
    this.chart = null;
  }
}

function options(): NonNullable<ConstructorParameters<typeof Chart<'line', GwPoint[]>>[1]['options']> {
  const colours = scaleColours();
  return {
    ...STATIC_LINE_OPTIONS,
    events: [],
    plugins: { tooltip: { enabled: false } },
    scales: {
      x: {
        type: 'linear',
        ticks: { ...colours.ticks, maxTicksLimit: 7, maxRotation: 0, callback: (v) => fmtValue(Number(v)) },
        grid: colours.grid,
        border: colours.border,
      },
      y: {
        type: 'linear',
        beginAtZero: true,
        title: { display: true, text: 'density', color: colours.ticks.color },
        ticks: { ...colours.ticks, maxTicksLimit: 5, callback: (v) => fmtValue(Number(v)) },
        grid: colours.grid,
        border: colours.border,
      },
    },
  };
}
