// One zoom and pan shared by several views of same-sized images (the runs' sample grids, the swipe, the difference):
// wheel or a two-finger pinch zooms, dragging pans, a double click zooms onto the grid cell under it, and every view
// linked to the same LinkedZoom shows the same region. The state is in fractions of the image, so views of any
// displayed size line up.
import type { FracRect } from './grid-cells.js';

export interface ZoomState {
  /** Magnification, 1 (whole image) to MAX_SCALE. */
  scale: number;
  /** The image point (fractions) at the view's top-left corner: 0..1 − 1/scale. */
  x: number;
  y: number;
}

export const MAX_SCALE = 32;
const WHEEL_RATE = 0.002;

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export class LinkedZoom {
  private s: ZoomState = { scale: 1, x: 0, y: 0 };
  private readonly listeners = new Set<(s: ZoomState) => void>();

  get state(): ZoomState {
    return { ...this.s };
  }

  set(next: ZoomState): void {
    const scale = clamp(next.scale, 1, MAX_SCALE);
    const room = 1 - 1 / scale;
    this.s = { scale, x: clamp(next.x, 0, room), y: clamp(next.y, 0, room) };
    for (const fn of this.listeners) fn(this.state);
  }

  /** Zooms by `factor` keeping the image point under view position (u, v) (fractions of the view) in place. */
  zoomAt(u: number, v: number, factor: number): void {
    const { scale, x, y } = this.s;
    const next = clamp(scale * factor, 1, MAX_SCALE);
    const [fx, fy] = [x + u / scale, y + v / scale];
    this.set({ scale: next, x: fx - u / next, y: fy - v / next });
  }

  /** Moves the view by (du, dv) view fractions (a drag to the right shows what lies to the left: du < 0). */
  panBy(du: number, dv: number): void {
    this.set({ scale: this.s.scale, x: this.s.x + du / this.s.scale, y: this.s.y + dv / this.s.scale });
  }

  /** Shows `rect` (fractions of the image) as large as it fits, centred. */
  fit(rect: FracRect): void {
    this.set(fitState(rect));
  }

  /** Whether the view shows `rect` as fit() would. */
  fitted(rect: FracRect): boolean {
    const t = fitState(rect);
    const room = 1 - 1 / t.scale;
    const same = (a: number, b: number): boolean => Math.abs(a - b) < 1e-6;
    return same(t.scale, this.s.scale) && same(clamp(t.x, 0, room), this.s.x) && same(clamp(t.y, 0, room), this.s.y);
  }

  reset(): void {
    this.set({ scale: 1, x: 0, y: 0 });
  }

  listen(fn: (s: ZoomState) => void): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }
}

function fitState(rect: FracRect): ZoomState {
  const scale = clamp(Math.min(1 / rect.w, 1 / rect.h), 1, MAX_SCALE);
  return { scale, x: rect.x + rect.w / 2 - 0.5 / scale, y: rect.y + rect.h / 2 - 0.5 / scale };
}

/** The CSS transform (origin top-left) that shows the zoomed region of an element filling its view. */
export function zoomTransform(s: ZoomState): string {
  return `scale(${s.scale}) translate(${-s.x * 100}%, ${-s.y * 100}%)`;
}

export interface ZoomViewOptions {
  /** The cell (as image fractions) under an image point, for double-click zoom; null: none there. */
  cellAt?: (fx: number, fy: number) => FracRect | null;
}

/**
 * Links `view` (an element clipping its content) to `zoom`: `targets` get the zoom's transform, the view takes wheel,
 * drag (mouse, pen and touch, through pointer events) and double click. Pointer-downs on elements marked
 * data-no-pan (the swipe's divider) are left alone. Returns the function that unlinks it.
 */
export function linkZoomView(
  view: HTMLElement,
  zoom: LinkedZoom,
  targets: readonly HTMLElement[],
  options: ZoomViewOptions = {},
): () => void {
  view.classList.add('zoom-view');
  const frac = (ev: MouseEvent): [number, number] => {
    const r = view.getBoundingClientRect();
    return [(ev.clientX - r.left) / r.width, (ev.clientY - r.top) / r.height];
  };
  const onWheel = (ev: WheelEvent): void => {
    ev.preventDefault();
    const [u, v] = frac(ev);
    zoom.zoomAt(u, v, Math.exp(-ev.deltaY * WHEEL_RATE));
  };
  // One pointer pans; two (a pinch) zoom about their midpoint by the change of their distance, and pan with it.
  const pointers = new Map<number, { x: number; y: number }>();
  const onDown = (ev: PointerEvent): void => {
    if (ev.button !== 0 || (ev.target as Element).closest('[data-no-pan]') || pointers.size >= 2) return;
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    view.setPointerCapture(ev.pointerId);
  };
  const onMove = (ev: PointerEvent): void => {
    const was = pointers.get(ev.pointerId);
    if (!was) return;
    const r = view.getBoundingClientRect();
    const now = { x: ev.clientX, y: ev.clientY };
    const other = [...pointers].find(([id]) => id !== ev.pointerId)?.[1];
    pointers.set(ev.pointerId, now);
    if (!other) return zoom.panBy(-(now.x - was.x) / r.width, -(now.y - was.y) / r.height);
    const before = Math.hypot(was.x - other.x, was.y - other.y);
    const after = Math.hypot(now.x - other.x, now.y - other.y);
    const mid = { x: (now.x + other.x) / 2, y: (now.y + other.y) / 2 };
    if (before > 0) zoom.zoomAt((mid.x - r.left) / r.width, (mid.y - r.top) / r.height, after / before);
    zoom.panBy(-(now.x - was.x) / 2 / r.width, -(now.y - was.y) / 2 / r.height);
  };
  const onUp = (ev: PointerEvent): void => {
    pointers.delete(ev.pointerId);
  };
  const onDouble = (ev: MouseEvent): void => {
    if ((ev.target as Element).closest('[data-no-pan]')) return;
    const [u, v] = frac(ev);
    const s = zoom.state;
    const cell = options.cellAt?.(s.x + u / s.scale, s.y + v / s.scale) ?? null;
    if (!cell || zoom.fitted(cell)) zoom.reset();
    else zoom.fit(cell);
  };
  view.addEventListener('wheel', onWheel, { passive: false });
  view.addEventListener('pointerdown', onDown);
  view.addEventListener('pointermove', onMove);
  view.addEventListener('pointerup', onUp);
  view.addEventListener('pointercancel', onUp);
  view.addEventListener('dblclick', onDouble);
  const off = zoom.listen((s) => {
    const t = zoomTransform(s);
    for (const el of targets) el.style.transform = t;
    view.classList.toggle('zoomed', s.scale > 1);
  });
  return () => {
    off();
    view.removeEventListener('wheel', onWheel);
    view.removeEventListener('pointerdown', onDown);
    view.removeEventListener('pointermove', onMove);
    view.removeEventListener('pointerup', onUp);
    view.removeEventListener('pointercancel', onUp);
    view.removeEventListener('dblclick', onDouble);
  };
}
