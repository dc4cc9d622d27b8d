// The region a 2-D scatter shows: fitted to a layout, kept while later layouts are of a similar size and inside it (so
// that moving between epochs shows the points move, not the axes), widened when a similar layout reaches past it,
// fitted again when a layout's extent changes by more than ×2 either way (a layout 300 times smaller than the axes is
// a dot), and drawn with equal units on both axes, so that distances mean the same in every direction and a circle
// stays a circle.

export interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export interface ScatterView {
  /** The data region that must be visible (the fitted layout's box, padded, grown to take in similar layouts). */
  box: Box;
  /** The extent (larger side) of the layout the view was fitted to. */
  extent: number;
}

/** A layout whose extent differs from the fitted one by more than this factor, either way, gets new axes. */
export const REFIT_FACTOR = 2;

/** Margin around a fitted layout, as a fraction of its extent. */
const PAD = 0.05;
/** Margin when the axes widen for a similar layout that reaches past them: room for the next one to grow too. */
const GROW_PAD = 0.15;

/** The bounding box of the finite points, or null when there is none. */
export function boundsOf(points: ReadonlyArray<readonly [number, number]>): Box | null {
  let box: Box | null = null;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    box = box
      ? { x0: Math.min(box.x0, x), x1: Math.max(box.x1, x), y0: Math.min(box.y0, y), y1: Math.max(box.y1, y) }
      : { x0: x, x1: x, y0: y, y1: y };
  }
  return box;
}

/** The larger side of a box. */
export function extentOf(b: Box): number {
  return Math.max(b.x1 - b.x0, b.y1 - b.y0);
}

function fit(b: Box, pad = PAD): ScatterView {
  const extent = extentOf(b);
  // A single point (or points that coincide) still gets a region around it, proportionate to where it is.
  const p = extent > 0 ? extent * pad : Math.max(Math.abs(b.x0), Math.abs(b.y0), 1e-12) * pad;
  return { box: { x0: b.x0 - p, x1: b.x1 + p, y0: b.y0 - p, y1: b.y1 + p }, extent };
}

/** The view for a new layout with bounding box `b`, given the current view (null: none yet). */
export function nextView(view: ScatterView | null, b: Box): ScatterView {
  const extent = extentOf(b);
  if (
    !view ||
    extent > view.extent * REFIT_FACTOR ||
    extent < view.extent / REFIT_FACTOR ||
    (view.extent === 0 && extent > 0)
  )
    return fit(b);
  const inside = b.x0 >= view.box.x0 && b.x1 <= view.box.x1 && b.y0 >= view.box.y0 && b.y1 <= view.box.y1;
  if (inside) return view;
  // A similar layout that reaches past the axes: widen them to take it in, with room to spare.
  const grown = fit(
    {
      x0: Math.min(view.box.x0, b.x0),
      x1: Math.max(view.box.x1, b.x1),
      y0: Math.min(view.box.y0, b.y0),
      y1: Math.max(view.box.y1, b.y1),
    },
    GROW_PAD,
  );
  return { box: grown.box, extent: view.extent };
}

/**
 * Axis ranges that show `box` in a plot area of width × height pixels with the same data units per pixel on both
 * axes: the box is centred and the axis with room to spare is widened.
 */
export function equalUnitRanges(box: Box, width: number, height: number): { x: [number, number]; y: [number, number] } {
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  const perPixel = Math.max((box.x1 - box.x0) / w, (box.y1 - box.y0) / h);
  const cx = (box.x0 + box.x1) / 2;
  const cy = (box.y0 + box.y1) / 2;
  return {
    x: [cx - (perPixel * w) / 2, cx + (perPixel * w) / 2],
    y: [cy - (perPixel * h) / 2, cy + (perPixel * h) / 2],
  };
}
