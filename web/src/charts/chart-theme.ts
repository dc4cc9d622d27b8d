// Chart colours of the current theme: axis text and grid for every Chart.js chart (through Chart.defaults, so a new
// chart needs nothing), and the marker colours (NaN, change points, gaps, alerts) in the theme's shade. The canvas
// cannot read CSS variables, so they are read here from the stylesheet and re-read when the theme changes.
import { Chart } from 'chart.js';
import { onThemeChange, themeColor } from '../theme.js';
import { CHANGE_COLOR, GAP_COLOR, NONFINITE_COLOR, SEVERITY_COLORS } from './colors.js';

export interface ChartTheme {
  text: string;
  grid: string;
  /** A marker colour (one of colors.ts's light-theme constants) in the current theme; other colours unchanged. */
  marker(color: string): string;
}

/** colors.ts's marker constants → the stylesheet variable that holds each in the current theme. */
const MARKER_VARS = new Map<string, string>([
  [NONFINITE_COLOR, '--chart-nonfinite'],
  [CHANGE_COLOR, '--chart-change'],
  [GAP_COLOR, '--chart-gap'],
  [SEVERITY_COLORS.info!, '--chart-info'],
  [SEVERITY_COLORS.warn!, '--chart-warn'],
  [SEVERITY_COLORS.critical!, '--chart-critical'],
]);

let theme: ChartTheme | null = null;

function read(): ChartTheme {
  const markers = new Map<string, string>();
  for (const [light, name] of MARKER_VARS) markers.set(light, themeColor(name, light));
  return {
    text: themeColor('--chart-text', '#3d4451'),
    grid: themeColor('--chart-grid', '#eceef2'),
    marker: (color) => markers.get(color) ?? color,
  };
}

/** The current theme's chart colours (read once per theme). */
export function chartTheme(): ChartTheme {
  return (theme ??= read());
}

type ScaleColours = { ticks?: object; grid?: object; border?: object };

/** Axis colours of the current theme, to merge into a chart's scale options. */
export function scaleColours(): { ticks: { color: string }; grid: { color: string }; border: { color: string } } {
  const t = chartTheme();
  return { ticks: { color: t.text }, grid: { color: t.grid }, border: { color: t.grid } };
}

/**
 * Sets Chart.defaults (for charts made later) and every chart's axis colours in its configuration (a chart made earlier
 * keeps what it resolved from the defaults), and redraws them.
 */
function applyChartTheme(): void {
  theme = read();
  Chart.defaults.color = theme.text;
  Chart.defaults.borderColor = theme.grid;
  const c = scaleColours();
  for (const chart of Object.values(Chart.instances)) {
    const scales = (chart.config.options as { scales?: Record<string, ScaleColours> } | undefined)?.scales ?? {};
    for (const scale of Object.values(scales)) {
      scale.ticks = { ...scale.ticks, ...c.ticks };
      scale.grid = { ...scale.grid, ...c.grid };
      scale.border = { ...scale.border, ...c.border };
    }
    chart.update('none');
  }
}

let installed = false;
/** Called once, when the first chart is registered. */
export function installChartTheme(): void {
  if (installed) return;
  installed = true;
  applyChartTheme();
  onThemeChange(applyChartTheme);
}

/** What each chart on the page draws its axes with, for the browser tests. */
export function chartColors(): Array<{ chart: string; text: string; grid: string }> {
  return Object.values(Chart.instances).map((c) => {
    const x = c.scales.x?.options as { ticks?: { color?: string }; grid?: { color?: string } } | undefined;
    const key = c.canvas.closest<HTMLElement>('[data-chart]')?.dataset.chart ?? c.canvas.parentElement?.className ?? '';
    return { chart: key, text: x?.ticks?.color ?? '', grid: x?.grid?.color ?? '' };
  });
}
