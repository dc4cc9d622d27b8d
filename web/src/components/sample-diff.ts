// The difference image of two runs' sample grids: per pixel the largest channel difference |A − B| (0–255),
// amplified by a gain and drawn through a dark-to-bright colour ramp with its legend, computed in the browser on
// canvases from the two PNGs as stored (no colour management, so the levels are the trainer's bytes).
import { withToken } from '../api.js';
import { h } from '../dom.js';
import type { LinkedZoom, ZoomViewOptions } from './linked-zoom.js';
import { linkZoomView } from './linked-zoom.js';

export interface DiffStats {
  width: number;
  height: number;
  gain: number;
  /** Mean and largest per-pixel difference, in 8-bit levels. */
  mean: number;
  max: number;
  /** Fraction of pixels that differ at all. */
  changed: number;
}

export const DIFF_GAINS = [1, 4, 16] as const;
export type DiffGain = (typeof DIFF_GAINS)[number];

/** The ramp: black (no difference) through purple, red and orange to pale yellow (255 levels ÷ gain or more). */
const RAMP: ReadonlyArray<readonly [number, readonly [number, number, number]]> = [
  [0, [0, 0, 0]],
  [0.25, [66, 10, 104]],
  [0.5, [188, 55, 84]],
  [0.75, [249, 142, 9]],
  [1, [252, 255, 164]],
];

/** The ramp's colour at t in [0, 1]. */
export function rampColor(t: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, t));
  for (let i = 1; i < RAMP.length; i++) {
    const [t1, c1] = RAMP[i]!;
    if (v <= t1) {
      const [t0, c0] = RAMP[i - 1]!;
      const f = (v - t0) / (t1 - t0);
      return [0, 1, 2].map((k) => Math.round(c0[k]! + f * (c1[k]! - c0[k]!))) as [number, number, number];
    }
  }
  return [...RAMP[RAMP.length - 1]![1]] as [number, number, number];
}

/** Per-pixel difference of two same-sized RGBA images, coloured, with its figures. */
export function diffImage(a: ImageData, b: ImageData, gain: number): { image: ImageData; stats: DiffStats } {
  const { width, height } = a;
  const out = new ImageData(width, height);
  const lut = Array.from({ length: 256 }, (_, d) => rampColor((d * gain) / 255));
  let sum = 0;
  let max = 0;
  let changed = 0;
  for (let o = 0; o < a.data.length; o += 4) {
    const d = Math.max(
      Math.abs(a.data[o]! - b.data[o]!),
      Math.abs(a.data[o + 1]! - b.data[o + 1]!),
      Math.abs(a.data[o + 2]! - b.data[o + 2]!),
    );
    sum += d;
    if (d > max) max = d;
    if (d > 0) changed++;
    const c = lut[d]!;
    out.data[o] = c[0];
    out.data[o + 1] = c[1];
    out.data[o + 2] = c[2];
    out.data[o + 3] = 255;
  }
  const n = width * height;
  return { image: out, stats: { width, height, gain, mean: sum / n, max, changed: changed / n } };
}

/** A PNG's pixels as stored: decoded without colour-space conversion. */
export async function loadPixels(url: string): Promise<ImageData> {
  const res = await fetch(withToken(url));
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const bitmap = await createImageBitmap(await res.blob(), {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

function legend(gain: number): HTMLElement {
  const stops = RAMP.map(([t, c]) => `rgb(${c.join(',')}) ${t * 100}%`).join(', ');
  const full = Math.round(255 / gain);
  return h(
    'div',
    {
      class: 'diff-legend',
      'aria-label': `Colour scale: black is no difference, pale yellow is ${full} levels or more`,
    },
    h('span', { class: 'diff-ramp', style: `background: linear-gradient(to right, ${stops})`, 'aria-hidden': 'true' }),
    h(
      'span',
      { class: 'diff-ticks', 'aria-hidden': 'true' },
      h('span', null, '0'),
      h('span', null, String(Math.round(full / 2))),
      h('span', null, `≥ ${full}`),
    ),
    h('span', { class: 'diff-caption' }, `|A − B| per pixel, largest channel, in 8-bit levels (×${gain})`),
  );
}

/** The difference view: canvas (zoomable, linked), legend and figures; show() recomputes for a pair of grids. */
export class SampleDiff {
  readonly el: HTMLElement;
  private readonly canvas = h('canvas', { class: 'diff-canvas', role: 'img' });
  private readonly view: HTMLElement;
  private readonly legendBox = h('div', null);
  private readonly figures = h('p', { class: 'diff-figures', 'aria-live': 'polite' });
  private shown: { a: string; b: string; stats: DiffStats } | null = null;
  private ticket = 0;
  private readonly unlink: () => void;

  constructor(zoom: LinkedZoom, options: ZoomViewOptions) {
    this.view = h('div', { class: 'sample-view diff-view' }, this.canvas);
    this.unlink = linkZoomView(this.view, zoom, [this.canvas], options);
    this.el = h('div', { class: 'sample-diff' }, this.view, this.legendBox, this.figures);
  }

  /** Computes |A − B| of two grids; a newer call wins over one still loading. */
  async show(a: { url: string; name: string }, b: { url: string; name: string }, gain: number): Promise<void> {
    const ticket = ++this.ticket;
    this.el.setAttribute('aria-busy', 'true');
    try {
      const [pa, pb] = await Promise.all([loadPixels(a.url), loadPixels(b.url)]);
      if (ticket !== this.ticket) return;
      if (pa.width !== pb.width || pa.height !== pb.height) {
        this.shown = null;
        this.figures.textContent = `The grids differ in size (${pa.width}×${pa.height} vs ${pb.width}×${pb.height}): no difference image.`;
        return;
      }
      const { image, stats } = diffImage(pa, pb, gain);
      this.canvas.width = image.width;
      this.canvas.height = image.height;
      this.canvas.getContext('2d')!.putImageData(image, 0, 0);
      this.canvas.setAttribute('aria-label', `Difference of ${a.name} and ${b.name}, amplified ×${gain}`);
      this.legendBox.replaceChildren(legend(gain));
      this.figures.textContent =
        `A ${a.name}, B ${b.name}: mean ${stats.mean.toFixed(2)} levels, largest ${stats.max}, ` +
        `${(stats.changed * 100).toFixed(1)}% of pixels differ`;
      this.shown = { a: a.url, b: b.url, stats };
    } catch (err) {
      if (ticket === this.ticket)
        this.figures.textContent = `Could not compute the difference: ${(err as Error).message}`;
    } finally {
      if (ticket === this.ticket) this.el.removeAttribute('aria-busy');
    }
  }

  snapshot(): { a: string; b: string; stats: DiffStats } | null {
    return this.shown && !this.el.hasAttribute('aria-busy') ? { ...this.shown, stats: { ...this.shown.stats } } : null;
  }

  dispose(): void {
    this.unlink();
  }
}
