// Which distribution charts the run page draws: one per distribution name, except that a name with a `real` path
// segment and its sibling with `fake` in its place (`dist/D/real/scale0`, `dist/D/fake/scale0`) share one chart, in
// two colours, so D's outputs on real and on generated images are seen against each other. Works for any name.
import { runColor } from './charts/colors.js';

export interface DistributionMember {
  name: string;
  label: string;
  color: string;
}

export interface DistributionPlan {
  /** Unique: the name, or for a pair the name with its `real` segment written `{real,fake}`. */
  key: string;
  title: string;
  members: DistributionMember[];
}

const REAL = 'real';
const FAKE = 'fake';

/** The charts for a run's distribution names, in the order of their first name. */
export function planDistributions(names: readonly string[]): DistributionPlan[] {
  const all = new Set(names);
  const used = new Set<string>();
  const plans: DistributionPlan[] = [];
  for (const name of names) {
    if (used.has(name)) continue;
    const parts = name.split('/');
    const i = parts.indexOf(REAL);
    const sibling = i >= 0 ? [...parts.slice(0, i), FAKE, ...parts.slice(i + 1)].join('/') : null;
    if (sibling && all.has(sibling) && !used.has(sibling)) {
      used.add(name).add(sibling);
      const key = [...parts.slice(0, i), `{${REAL},${FAKE}}`, ...parts.slice(i + 1)].join('/');
      plans.push({
        key,
        title: key,
        members: [
          { name, label: REAL, color: runColor(0) },
          { name: sibling, label: FAKE, color: runColor(1) },
        ],
      });
      continue;
    }
    // A `fake` whose `real` comes later in the list is paired when the `real` is reached.
    const partsFake = parts.indexOf(FAKE);
    if (partsFake >= 0 && all.has([...parts.slice(0, partsFake), REAL, ...parts.slice(partsFake + 1)].join('/')))
      continue;
    used.add(name);
    plans.push({ key: name, title: name, members: [{ name, label: name, color: runColor(0) }] });
  }
  return plans;
}
