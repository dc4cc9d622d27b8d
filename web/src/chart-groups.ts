// Which charts the run and compare pages draw, in which group and order: one declarative table.
// To add a group, follow the steps at the top of charts/_template-group.ts (a worked example, not registered).
import { METRIC, METRIC_PREFIX } from '../../protocol/metric-names.js';

/** A chart computed in the browser from other metrics of the same run (e.g. a ratio of two losses). */
export interface DerivedChart {
  /** Unique among derived charts; the chart's key is `derived:<id>`. */
  id: string;
  title: string;
  /** The stored metrics it is computed from; the chart appears when the run has all of them. */
  inputs: readonly string[];
  /** Combines the inputs' values at one step (raw points) or one bucket (bucket means), in `inputs` order. */
  combine: (values: readonly number[]) => number;
  description?: string;
}

export interface ChartGroup {
  id: string;
  title: string;
  description?: string;
  /**
   * Which metrics belong here: exact names, or patterns with `*` (any characters, `/` included).
   * A metric goes to the FIRST group in CHART_GROUPS that matches it.
   */
  match: readonly string[];
  /** Charts listed here come first, in this order; the other matches follow alphabetically. */
  order?: readonly string[];
  derived?: readonly DerivedChart[];
  /** Small charts, more per row: for metrics with few points (one per validation epoch). */
  compact?: boolean;
  /** Start these charts on a log y axis. */
  log?: boolean;
}

const ratio = (values: readonly number[]): number => values[0]! / values[1]!;

const QUALITY = [
  METRIC.valFid,
  METRIC.valSsim,
  METRIC.valDiversity,
  METRIC.valModeCoverage,
  METRIC.valLatentSilhouette,
  METRIC.valLatentFisher,
];

export const CHART_GROUPS: readonly ChartGroup[] = [
  {
    id: 'losses',
    title: 'Losses',
    match: [`${METRIC_PREFIX.loss}*`],
    order: [
      METRIC.lossD,
      METRIC.lossGGan,
      METRIC.lossD2,
      METRIC.lossGGan2,
      METRIC.lossL1,
      METRIC.lossZL1,
      METRIC.lossKl,
      METRIC.lossGTotal,
    ],
  },
  {
    id: 'ratio',
    title: 'G/D loss ratio',
    description:
      'Computed in the browser from the same points or buckets as the loss charts: mean G loss ÷ mean D loss.',
    match: [],
    derived: [
      {
        id: 'gd_ratio',
        title: `${METRIC.lossGGan} ÷ ${METRIC.lossD}`,
        inputs: [METRIC.lossGGan, METRIC.lossD],
        combine: ratio,
      },
      {
        id: 'gd2_ratio',
        title: `${METRIC.lossGGan2} ÷ ${METRIC.lossD2}`,
        inputs: [METRIC.lossGGan2, METRIC.lossD2],
        combine: ratio,
      },
    ],
  },
  {
    id: 'monitor',
    title: 'Monitor metrics',
    description:
      'The seed specification’s monitoring metrics: discriminator accuracies, cycle (image L1) and latent errors.',
    match: [METRIC.dRealAcc, METRIC.dFakeAcc, 'D2_*', METRIC.cycError, METRIC.latentMse],
    order: [METRIC.dRealAcc, METRIC.dFakeAcc, METRIC.d2RealAcc, METRIC.d2FakeAcc, METRIC.cycError, METRIC.latentMse],
  },
  {
    id: 'quality',
    title: 'Quality (validation epochs)',
    match: QUALITY,
    order: QUALITY,
    compact: true,
  },
  { id: 'validation', title: 'Validation metrics', match: [`${METRIC_PREFIX.val}*`], compact: true },
  { id: 'gradients', title: 'Gradient norms', match: [`${METRIC_PREFIX.gradNorm}*`] },
  {
    id: 'schedule',
    title: 'Learning rates, λs and clipping',
    match: [`${METRIC_PREFIX.lr}*`, `${METRIC_PREFIX.lambda}*`, `${METRIC_PREFIX.clip}*`],
    compact: true,
  },
  { id: 'perf', title: 'Performance', match: [`${METRIC_PREFIX.perf}*`], compact: true },
  {
    id: 'system',
    title: 'System',
    description:
      'The training process’s CPU (100% = one core) and resident memory, and each GPU’s utilization, memory and temperature (nvidia-smi), sampled every 10 s by the client.',
    match: [`${METRIC_PREFIX.sys}*`],
    order: [METRIC.sysCpuPercent, METRIC.sysRssMb],
    compact: true,
  },
  {
    id: 'layers',
    title: 'Per-layer norms',
    description: 'One chart per layer; the heatmap under Distributions shows every layer of a net at once.',
    match: [`${METRIC_PREFIX.layerGrad}*`, `${METRIC_PREFIX.layerNorm}*`],
    compact: true,
    log: true,
  },
  { id: 'other', title: 'Other metrics', match: ['*'] },
];

const compiled = new Map<string, RegExp>();
/** Whether `metric` matches a pattern of a group's `match` list. */
export function matches(pattern: string, metric: string): boolean {
  if (!pattern.includes('*')) return pattern === metric;
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    compiled.set(pattern, re);
  }
  return re.test(metric);
}

export function groupOf(metric: string, groups: readonly ChartGroup[] = CHART_GROUPS): ChartGroup | null {
  return groups.find((g) => g.match.some((p) => matches(p, metric))) ?? null;
}

/** One chart to draw: a stored metric, or a derived chart. */
export interface ChartPlan {
  key: string;
  title: string;
  metric: string | null;
  derived: DerivedChart | null;
  compact: boolean;
  log: boolean;
}

export interface GroupPlan {
  group: ChartGroup;
  charts: ChartPlan[];
}

/** Lays out the charts for a set of metric names: groups in table order, each with its charts in order. */
export function planCharts(metrics: Iterable<string>, groups: readonly ChartGroup[] = CHART_GROUPS): GroupPlan[] {
  const names = new Set(metrics);
  const byGroup = new Map<ChartGroup, string[]>();
  for (const m of names) {
    const g = groupOf(m, groups);
    if (!g) continue;
    let list = byGroup.get(g);
    if (!list) byGroup.set(g, (list = []));
    list.push(m);
  }
  const plans: GroupPlan[] = [];
  for (const group of groups) {
    const members = byGroup.get(group) ?? [];
    const order = group.order ?? [];
    members.sort((a, b) => {
      const ia = order.indexOf(a);
      const ib = order.indexOf(b);
      if (ia !== -1 || ib !== -1) return (ia === -1 ? Infinity : ia) - (ib === -1 ? Infinity : ib);
      return a.localeCompare(b);
    });
    const charts: ChartPlan[] = [];
    for (const d of group.derived ?? []) {
      if (d.inputs.every((i) => names.has(i))) {
        charts.push({
          key: `derived:${d.id}`,
          title: d.title,
          metric: null,
          derived: d,
          compact: !!group.compact,
          log: !!group.log,
        });
      }
    }
    for (const m of members)
      charts.push({ key: m, title: m, metric: m, derived: null, compact: !!group.compact, log: !!group.log });
    if (charts.length) plans.push({ group, charts });
  }
  return plans;
}
