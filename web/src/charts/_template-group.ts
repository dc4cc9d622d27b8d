// Template for a chart group: a worked example, deliberately NOT in CHART_GROUPS (../chart-groups.ts), so no page
// draws it. test/web/chart-template.test.ts copies it, registers the copy and finds its charts on a run page.
//
// How to add a chart group:
//   1. Copy this file to web/src/charts/<id>-group.ts (one group per module, named for what it shows).
//   2. Rename the exported constant and set `id` (unique among the groups: it is the section's data-group), `title`,
//      `description`, and which metrics it takes (`match`), in which order (`order`), and any `derived` charts.
//   3. Import it in ../chart-groups.ts and add it to CHART_GROUPS, BEFORE the groups it takes metrics from (this one
//      takes D_real_acc and D_fake_acc from 'monitor' and loss/D2 from 'losses', so it goes before both).
//   4. Run npm run build:web; the run page and the compare view read CHART_GROUPS, nothing else is needed.
//
// How a chart group works
// - `match` lists metric names or `*` patterns. Every metric lands in the FIRST group (in CHART_GROUPS order) that
//   matches it, so put a new specific group BEFORE the broad ones it would otherwise fall into (e.g. before
//   'validation', which takes every `val/*`, and always before 'other', which takes everything).
// - Each matched metric gets one chart: the server's min–max band with the mean line (or the raw points when there are
//   few), smoothing, log scale, zoom, NaN and alert markers. `order` puts charts first in the given order.
// - `derived` charts are computed in the browser from other metrics of the same run, at matching steps (raw points) or
//   matching buckets (bucket means). They appear only when the run has every input. Their keys must be unique.
// - `compact: true` draws small charts, several per row (good for once-per-epoch metrics); `log: true` starts on a
//   log y axis (the user can still toggle it per chart).
import { METRIC } from '../../../protocol/metric-names.js';
import type { ChartGroup } from '../chart-groups.js';

export const EXAMPLE_DISCRIMINATOR_GROUP: ChartGroup = {
  id: 'discriminator',
  title: 'Discriminator balance',
  description: 'Accuracy gap and the two discriminators’ losses side by side.',
  // Takes D_real_acc/D_fake_acc from 'monitor' and loss/D2 from 'losses' when placed before them in CHART_GROUPS.
  match: [METRIC.dRealAcc, METRIC.dFakeAcc, METRIC.lossD2],
  order: [METRIC.dRealAcc, METRIC.dFakeAcc],
  derived: [
    {
      id: 'd_acc_gap',
      title: `${METRIC.dRealAcc} − ${METRIC.dFakeAcc}`,
      inputs: [METRIC.dRealAcc, METRIC.dFakeAcc],
      combine: ([real, fake]) => real! - fake!,
      description: 'Near 0 when D treats real and fake alike; a persistent gap means one side is easy for D.',
    },
  ],
  compact: true,
};
