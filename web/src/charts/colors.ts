// Run colours (Tableau 10, distinguishable for most colour-vision deficiencies) and marker colours.

export const RUN_COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
export const NONFINITE_COLOR = '#c0001a';
export const CHANGE_COLOR = '#6a3d9a';
export const GAP_COLOR = '#5f6b7a';
/** An ancestor's curves (up to the fork) under a forked run's own: dimmed. */
export const ANCESTOR_COLOR = '#9aa3b2';
export const SEVERITY_COLORS: Record<string, string> = { info: '#1f6fb4', warn: '#b35900', critical: '#c0001a' };

export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length]!;
}

/** '#rrggbb' with an alpha, as rgba(). */
export function withAlpha(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
