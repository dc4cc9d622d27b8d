// The settings every chart of a page shares: smoothing, x axis, zoom (with its reset) and a hint on gestures.
import { h, uid } from '../dom.js';
import { fmtStep } from '../format.js';
import { store, stored } from '../storage.js';
import type { ChartGrid } from './chart-grid.js';
import type { XAxis } from './metric-chart.js';

const SMOOTHING_KEY = 'ganwatch.smoothing';
const XAXIS_KEY = 'ganwatch.xaxis';

/** Builds the toolbar and applies the saved settings to `grid`. */
export function chartToolbar(grid: ChartGrid): HTMLElement {
  const initialSmoothing = Number(stored(SMOOTHING_KEY) ?? '0.6');
  const smoothing = Number.isFinite(initialSmoothing) ? Math.min(0.99, Math.max(0, initialSmoothing)) : 0.6;
  const savedAxis = stored(XAXIS_KEY);
  const axis: XAxis = savedAxis === 'wall' || savedAxis === 'relative' ? savedAxis : 'step';
  grid.setSmoothing(smoothing);
  grid.setXAxis(axis);

  const sId = uid('smoothing');
  const out = h('output', { for: sId, class: 'smoothing-value' }, smoothing.toFixed(2));
  const slider = h('input', { id: sId, type: 'range', min: 0, max: 0.99, step: 0.01, value: smoothing });
  slider.addEventListener('input', () => {
    const w = Number(slider.value);
    out.textContent = w.toFixed(2);
    grid.setSmoothing(w);
    store(SMOOTHING_KEY, String(w));
  });

  const xId = uid('xaxis');
  const select = h(
    'select',
    { id: xId },
    h('option', { value: 'step' }, 'Step'),
    h('option', { value: 'wall' }, 'Wall time'),
    h('option', { value: 'relative' }, 'Relative time'),
  );
  select.value = axis;
  select.addEventListener('change', () => {
    grid.setXAxis(select.value as XAxis);
    store(XAXIS_KEY, select.value);
  });

  const zoomText = h('span', { class: 'zoom-range', 'aria-live': 'polite' }, 'all steps');
  const reset = h('button', { type: 'button', disabled: true, onclick: () => grid.zoom(null) }, 'Reset zoom');
  grid.onRange((range) => {
    zoomText.textContent = range ? `steps ${fmtStep(range.from)}–${fmtStep(range.to)}` : 'all steps';
    reset.disabled = !range;
  });

  return h(
    'div',
    { class: 'chart-toolbar', role: 'group', 'aria-label': 'Chart settings' },
    h('label', { for: sId }, 'Smoothing'),
    slider,
    out,
    h('label', { for: xId }, 'X axis'),
    select,
    h('span', { class: 'zoom-label' }, 'Showing ', zoomText),
    reset,
    h(
      'span',
      { class: 'hint' },
      'Drag on a chart to zoom · Shift+drag to pan · Ctrl+wheel zooms · double-click or 0 resets',
    ),
  );
}
