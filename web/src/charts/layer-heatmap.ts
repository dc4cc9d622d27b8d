// The per-layer heatmap: steps across, one row per layer (grouped by net), the colour the log of the layer's norm on
// one scale for the whole map, so a vanishing layer is a dark stripe and an exploding one a bright one. A plain canvas:
// a few thousand rectangles, redrawn only when the data, the width or the theme changes.
import { h } from '../dom.js';
import { fmtStep, fmtValue } from '../format.js';
import { onThemeChange, themeColor } from '../theme.js';
import { chartTheme } from './chart-theme.js';
import { NONFINITE_COLOR, SEVERITY_COLORS } from './colors.js';
import type { LayerFlag, LayerMatrix } from './layer-norms.js';

/** Viridis (perceptually uniform, readable with colour-vision deficiencies and on both themes), low → high. */
const VIRIDIS = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [181, 222, 43],
  [253, 231, 37],
] as const;

const ROW_MIN = 8;
const ROW_MAX = 18;
const PLOT_HEIGHT = 320;
const AXIS_H = 24;
const LEGEND_W = 70;
const LABEL_MAX_W = 240;
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Viridis at t ∈ [0, 1]. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  const c = (k: number): number => Math.round(a[k]! + (b[k]! - a[k]!) * f);
  return `rgb(${c(0)}, ${c(1)}, ${c(2)})`;
}

/** Where things are drawn, in CSS pixels of the canvas, for the browser tests (they read the pixels back). */
export interface HeatmapGeometry {
  plot: { left: number; right: number; top: number; bottom: number };
  /** The vertical centre of each layer's row. */
  rows: Array<{ layer: string; y: number }>;
  /** log10 of the norms at the bottom and top of the colour scale. */
  scale: [number, number] | null;
}

/** 10^d for the colour scale: `1e-7` for a whole decade far from 1, else the value. */
function decade(d: number): string {
  if (Number.isInteger(d) && Math.abs(d) >= 3) return `1e${d}`;
  return fmtValue(Number((10 ** d).toPrecision(2)));
}

export class LayerHeatmap {
  readonly el: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly readout: HTMLOutputElement;
  private matrix: LayerMatrix | null = null;
  private flagged = new Map<string, LayerFlag>();
  private geometry: HeatmapGeometry | null = null;
  private readonly offTheme: () => void;
  private readonly resize: ResizeObserver;
  private width = 0;

  constructor(label: string) {
    this.canvas = h('canvas', { role: 'img', 'aria-label': label, class: 'heatmap-canvas' });
    this.readout = h('output', { class: 'heatmap-readout', 'aria-live': 'off' });
    this.el = h('div', { class: 'layer-heatmap' }, this.canvas, this.readout);
    this.canvas.addEventListener('mousemove', (ev) => this.hover(ev));
    this.canvas.addEventListener('mouseleave', () => (this.readout.textContent = ''));
    this.offTheme = onThemeChange(() => this.draw());
    this.resize = new ResizeObserver(() => {
      if (this.el.clientWidth !== this.width) this.draw();
    });
    this.resize.observe(this.el);
  }

  setData(matrix: LayerMatrix, flags: readonly LayerFlag[]): void {
    this.matrix = matrix;
    this.flagged = new Map(flags.map((f) => [f.layer, f]));
    this.draw();
  }

  dispose(): void {
    this.offTheme();
    this.resize.disconnect();
  }

  geometryNow(): HeatmapGeometry | null {
    return this.geometry;
  }

  private draw(): void {
    const m = this.matrix;
    const width = this.el.clientWidth;
    this.width = width;
    if (!m || !width || !m.columns.length) {
      this.geometry = null;
      return;
    }
    const rows = m.layers.length;
    const rowH = Math.max(ROW_MIN, Math.min(ROW_MAX, Math.floor(PLOT_HEIGHT / Math.max(1, rows))));
    const height = rows * rowH + AXIS_H + 4;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = FONT;
    const theme = chartTheme();
    ctx.fillStyle = themeColor('--chart-bg', '#ffffff');
    ctx.fillRect(0, 0, width, height);

    const labelOf = (layer: string): string => {
      const flag = this.flagged.get(layer);
      return `${flag ? (flag.kind === 'vanishing' ? '▼ ' : '▲ ') : ''}${layer.split('/').slice(1).join('/')}`;
    };
    let labelW = 0;
    for (const l of m.layers) labelW = Math.max(labelW, ctx.measureText(labelOf(l)).width);
    const left = Math.min(LABEL_MAX_W, Math.ceil(labelW) + 8);
    const right = width - LEGEND_W;
    const top = 2;
    const bottom = top + rows * rowH;
    const cols = m.columns.length;
    const cellW = (right - left) / cols;

    let lo = Infinity;
    let hi = -Infinity;
    for (const v of m.values)
      if (v > 0 && Number.isFinite(v)) {
        const l = Math.log10(v);
        if (l < lo) lo = l;
        if (l > hi) hi = l;
      }
    const scale: [number, number] | null = lo <= hi ? [lo, hi] : null;
    const span = scale ? Math.max(1e-9, hi - lo) : 1;
    const nonFinite = theme.marker(NONFINITE_COLOR);

    for (let r = 0; r < rows; r++) {
      const y = top + r * rowH;
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        const v = m.values[i]!;
        let colour: string | null = null;
        if (m.nonFinite[i]) colour = nonFinite;
        else if (!Number.isNaN(v)) colour = viridis(v > 0 && scale ? (Math.log10(v) - lo) / span : 0);
        if (!colour) continue;
        ctx.fillStyle = colour;
        // Whole pixels, overlapping by one, so no seams show between cells.
        const x0 = Math.floor(left + c * cellW);
        ctx.fillRect(x0, y, Math.ceil(left + (c + 1) * cellW) - x0, rowH - (rowH > 10 ? 1 : 0));
      }
      // A line between nets.
      if (r > 0 && m.nets[r] !== m.nets[r - 1]) {
        ctx.fillStyle = theme.text;
        ctx.fillRect(0, y - 1, right, 1);
      }
      const flag = this.flagged.get(m.layers[r]!);
      ctx.fillStyle = flag
        ? theme.marker(flag.kind === 'exploding' ? SEVERITY_COLORS.critical! : SEVERITY_COLORS.warn!)
        : theme.text;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      ctx.fillText(labelOf(m.layers[r]!), left - 4, y + rowH / 2, left - 6);
    }

    // Step axis: the first steps of the first, middle and last columns.
    ctx.fillStyle = theme.text;
    ctx.textBaseline = 'top';
    const ticks = cols > 2 ? [0, Math.floor(cols / 2), cols - 1] : [...Array(cols).keys()];
    for (const c of ticks) {
      ctx.textAlign = c === 0 ? 'left' : c === cols - 1 ? 'right' : 'center';
      const x = c === 0 ? left : c === cols - 1 ? right : left + (c + 0.5) * cellW;
      ctx.fillText(fmtStep(m.columns[c]![0]), x, bottom + 6);
    }

    if (scale) this.legend(ctx, right + 14, top, bottom, scale);
    this.geometry = {
      plot: { left, right, top, bottom },
      rows: m.layers.map((layer, r) => ({ layer, y: top + r * rowH + rowH / 2 })),
      scale,
    };
  }

  /** The colour scale: a vertical bar with the norms at its ends and decades between. */
  private legend(ctx: CanvasRenderingContext2D, x: number, top: number, bottom: number, [lo, hi]: [number, number]) {
    const h = bottom - top;
    for (let i = 0; i < h; i++) {
      ctx.fillStyle = viridis(1 - i / Math.max(1, h - 1));
      ctx.fillRect(x, top + i, 10, 1);
    }
    ctx.fillStyle = chartTheme().text;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    const span = Math.max(1e-9, hi - lo);
    // Whole decades when the scale spans one or more, else its two ends; never two labels within 12 px.
    const marks: number[] = [];
    for (let d = Math.ceil(lo); d <= hi; d++) marks.push(d);
    if (marks.length < 2) marks.splice(0, marks.length, lo, hi);
    let lastY = Infinity;
    for (const d of marks) {
      const y = bottom - ((d - lo) / span) * (h - 1);
      if (Math.abs(lastY - y) < 12) continue;
      lastY = y;
      ctx.fillText(decade(d), x + 13, Math.min(bottom - 5, Math.max(top + 5, y)));
    }
  }

  private hover(ev: MouseEvent): void {
    const m = this.matrix;
    const g = this.geometry;
    if (!m || !g) return;
    const rect = this.canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top;
    const { left, right, top, bottom } = g.plot;
    if (x < left || x >= right || y < top || y >= bottom) {
      this.readout.textContent = '';
      return;
    }
    const cols = m.columns.length;
    const r = Math.floor(((y - top) / (bottom - top)) * m.layers.length);
    const c = Math.floor(((x - left) / (right - left)) * cols);
    const i = r * cols + c;
    const [from, to] = m.columns[c]!;
    const v = m.values[i]!;
    const value = m.nonFinite[i] ? 'NaN/Inf' : Number.isNaN(v) ? 'no point' : fmtValue(v);
    const steps = from === to ? `step ${from}` : `steps ${from}–${to}`;
    const flag = this.flagged.get(m.layers[r]!);
    this.readout.textContent = `${m.layers[r]} · ${steps} · ${value}${flag ? ` (${flag.kind})` : ''}`;
  }
}
