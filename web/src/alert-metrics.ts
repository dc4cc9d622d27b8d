// Which curves an alert belongs on (metrics named in its evidence, else its rule's usual metrics), and the chart
// markers of stored markers: change points on their metric, connection gaps on every chart of the run.
import type { Alert, MarkerRecord } from '../../protocol/index.js';
import { DISCRIMINATOR_METRICS, METRIC, type AlertRuleName, type KnownMetric } from '../../protocol/metric-names.js';
import { CHANGE_COLOR, GAP_COLOR, SEVERITY_COLORS } from './charts/colors.js';
import { WHOLE_RUN, type MarkerOnMetric } from './charts/chart-grid.js';
import { fmtClock, fmtDuration, fmtStep, fmtValue } from './format.js';

/** The curves an alert of each rule belongs on when its evidence names none (for a key 'D2' alert, D2's twins). */
const RULE_METRICS: Readonly<Record<string, readonly KnownMetric[]>> = {
  divergence: [METRIC.lossL1, METRIC.lossD, METRIC.lossGGan, METRIC.gradNormG, METRIC.gradNormD],
  d_overpowering: [METRIC.lossD, METRIC.dRealAcc, METRIC.dFakeAcc],
  mode_collapse: [METRIC.valDiversity, METRIC.valModeCoverage, METRIC.lossZL1, METRIC.latentMse],
  gradient_oscillation: [METRIC.gradNormD, METRIC.lossD],
  color_distortion: [METRIC.cycError, METRIC.lossL1, METRIC.valSsim],
  training_stall: [METRIC.lossGGan, METRIC.cycError, METRIC.gradNormG],
  early_stop: [METRIC.valFid, METRIC.valL1, METRIC.valSsim],
} satisfies Partial<Record<AlertRuleName, readonly KnownMetric[]>>;

/** D's metric → the same metric of D2. */
const D2_TWIN: ReadonlyMap<string, KnownMetric> = new Map(
  (['realAcc', 'fakeAcc', 'loss'] as const).map((k) => [DISCRIMINATOR_METRICS.D[k], DISCRIMINATOR_METRICS.D2[k]]),
);

/** The step an alert began at: step_opened, else a `step` in its evidence. */
export function alertStep(alert: Alert): number | null {
  if (alert.step_opened !== null && alert.step_opened >= 0) return alert.step_opened;
  const s = alert.evidence.step;
  return typeof s === 'number' ? s : null;
}

export function alertMetrics(alert: Alert, known: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  const consider = (name: string): void => {
    if (known.has(name)) out.add(name);
  };
  for (const [k, v] of Object.entries(alert.evidence)) {
    consider(k.split(':')[0]!);
    if (typeof v === 'string') for (const part of v.split(/,\s*/)) consider(part);
  }
  if (out.size === 0) {
    for (const m of RULE_METRICS[alert.rule] ?? []) {
      // Rules keyed by discriminator (key 'D2') watch that discriminator's metrics.
      consider(alert.key === 'D2' ? (D2_TWIN.get(m) ?? m) : m);
    }
  }
  return [...out];
}

export function alertMarkers(alerts: readonly Alert[], known: ReadonlySet<string>): MarkerOnMetric[] {
  const out: MarkerOnMetric[] = [];
  for (const a of alerts) {
    const step = alertStep(a);
    if (step === null) continue;
    const text = `alert: ${a.rule}${a.key ? ` (${a.key})` : ''}, ${a.severity}, ${a.state} — ${a.message}`;
    for (const metric of alertMetrics(a, known)) {
      out.push({ run: a.run, metric, step, kind: 'alert', text, color: SEVERITY_COLORS[a.severity] ?? '#b35900' });
    }
  }
  return out;
}

/** Chart markers of the markers the server stored: change points and connection gaps. */
export function storedMarkers(markers: readonly MarkerRecord[]): MarkerOnMetric[] {
  return markers.map((m) => (m.kind === 'gap' ? gapMarker(m) : changeMarker(m)));
}

function changeMarker(m: MarkerRecord): MarkerOnMetric {
  const level = typeof m.evidence.level === 'number' ? `, new level ≈ ${fmtValue(m.evidence.level)}` : '';
  const dir = m.kind ? ` (${m.kind})` : '';
  const from = m.change_at !== null ? ` (began ≈ step ${m.change_at})` : '';
  return {
    run: m.run,
    metric: m.metric,
    step: m.change_at ?? m.step,
    kind: 'change',
    text: `change point${dir} at step ${m.step}${from}${level}`,
    color: CHANGE_COLOR,
  };
}

/** A gap: the trainer could not reach the server for a while; its spooled steps were sent when it came back. */
export function gapText(m: MarkerRecord): string {
  const { from, to, seconds } = m.evidence;
  const span = typeof from === 'number' && typeof to === 'number' ? ` (${fmtClock(from)}–${fmtClock(to)})` : '';
  const long = typeof seconds === 'number' ? `${fmtDuration(seconds)} ` : '';
  return `connection gap: ${long}without the server after step ${fmtStep(m.step)}${span}; the steps trained meanwhile were resent`;
}

function gapMarker(m: MarkerRecord): MarkerOnMetric {
  return { run: m.run, metric: WHOLE_RUN, step: m.step, kind: 'gap', text: gapText(m), color: GAP_COLOR };
}
