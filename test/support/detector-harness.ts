// Test support: runs a stream of StepValues through one detector and one AlertStateMachine per key, the way the alert
// engine does (settings merged and re-baselines decided by the engine's own code, cooldown after a remedy when asked),
// and records every transition and marker.
import type { RuleOverride } from '../../protocol/index.js';
import { mergeSettings } from '../../server/alerts/config.js';
import { changeCause, ControlWatch } from '../../server/alerts/control-watch.js';
import { AlertStateMachine, type AlertState, type Transition } from '../../server/alerts/state.js';
import type { DetectorFactory, Marker, RebaselineCause, StepHistogram, StepValues } from '../../server/alerts/types.js';

export interface HarnessOptions {
  /** Overrides of the rule's defaults (params merged key by key). */
  settings?: RuleOverride;
  /** Call rebaseline(step) when a pushed lr/* or lambda/* changes significantly, as the engine does (default true). */
  rebaselineOnChange?: boolean;
  /** Start the rule's cooldown on every key when an alert fires, as if its remedy were applied at once (default false). */
  cooldownOnFire?: boolean;
  /** Histograms the run sends at a step, handed to the detector (those it reads) before that step's point. */
  histograms?: (step: number) => readonly StepHistogram[];
}

export interface KeyedTransition extends Transition {
  key: string;
}

export interface HarnessResult {
  transitions: KeyedTransition[];
  markers: Marker[];
  evaluations: number;
  /** Final state per key. */
  states: Map<string, AlertState>;
  /** Transitions into `to` (optionally for one key). */
  into(to: AlertState, key?: string): KeyedTransition[];
  /** The first transition into firing (optionally for one key). */
  firstFiring(key?: string): KeyedTransition | undefined;
}

export function runDetector(
  factory: DetectorFactory,
  stream: Iterable<StepValues>,
  opts: HarnessOptions = {},
): HarnessResult {
  const settings = mergeSettings(factory.defaults, opts.settings);
  const detector = factory.create({ settings });
  const machines = new Map<string, AlertStateMachine>();
  const transitions: KeyedTransition[] = [];
  const markers: Marker[] = [];
  const controls = new ControlWatch();
  const rebaselineOnChange = opts.rebaselineOnChange ?? true;
  let evaluations = 0;

  for (const point of stream) {
    let changed: RebaselineCause | null = null;
    for (const [name, v] of point.values) if (controls.see(name, v)) changed = changeCause(name, changed);
    if (changed && rebaselineOnChange) detector.rebaseline(point.step, changed);
    for (const h of opts.histograms?.(point.step) ?? [])
      if (detector.distributionNames?.includes(h.name)) detector.observeDistribution?.(h);
    const out = detector.observe(point);
    if (!out) continue;
    if (out.markers) markers.push(...out.markers);
    for (const ev of out.evaluations) {
      evaluations++;
      let m = machines.get(ev.key);
      if (!m) machines.set(ev.key, (m = new AlertStateMachine(settings)));
      const tr = m.feed(ev, point.step);
      if (!tr) continue;
      transitions.push({ ...tr, key: ev.key });
      if (opts.cooldownOnFire && tr.to === 'firing' && tr.from !== 'firing') {
        for (const other of machines.values()) other.startCooldown(point.step + settings.cooldown);
      }
    }
  }

  const states = new Map<string, AlertState>();
  for (const [k, m] of machines) states.set(k, m.state);
  return {
    transitions,
    markers,
    evaluations,
    states,
    into: (to, key) => transitions.filter((t) => t.to === to && (key === undefined || t.key === key)),
    firstFiring: (key) => transitions.find((t) => t.to === 'firing' && (key === undefined || t.key === key)),
  };
}

/** A compact description of transitions for assertion messages. */
export function describe(r: HarnessResult): string {
  return (
    r.transitions.map((t) => `${t.key || '·'}:${t.from}→${t.to}@${t.step}(${t.evaluation.severity})`).join(' ') ||
    '(no transitions)'
  );
}
