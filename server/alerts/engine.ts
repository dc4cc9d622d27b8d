// The alert engine: runs every enabled detector on every ingested step of every run, drives each alert's state
// machine, stores and pushes alerts and markers, sends webhooks, and turns remedies into controls (on a click or,
// when a run opts in, automatically).
import {
  decodeValue,
  ganModeOf,
  gwError,
  type Alert,
  type AlertConfig,
  type Control,
  type Distribution,
  type Histogram,
  type LivePoint,
} from '../../protocol/index.js';
import { stepsOf, type NewMarker, type RunRef, type Store } from '../../db/store.js';
import type { ControlService } from '../services/controls.js';
import type { LiveHub } from '../services/live-hub.js';
import type { PointsListener } from '../services/ingest.js';
import { autoApplyCap, checkRules, effectiveSettings } from './config.js';
import { changeCause, ControlWatch } from './control-watch.js';
import { AlertStateMachine, type Transition } from './state.js';
import type {
  Detector,
  DetectorFactory,
  DetectorOutput,
  Evaluation,
  RebaselineCause,
  RuleSettings,
  StepValues,
} from './types.js';
import type { AlertEvent, WebhookSender } from './webhooks.js';

const SERVER_CONFIG_KEY = 'alerts.defaults';

/**
 * How much of a run's stored history a newly built detector state learns from before it watches live points: more
 * than the longest warm-up and window of any rule (training_stall: 1,000 warm-up + 1,500 steps), so a server that
 * takes a run over (failover, restart, changed settings) judges its next batch as the previous holder would have,
 * instead of going silent for a warm-up. Read in pages of REPLAY_PAGE steps.
 */
export const REPLAY_STEPS = 5000;
const REPLAY_PAGE = 1000;
/** How many generations of forks the auto-apply cap looks back through (a guard against a cycle in bad data). */
const MAX_LINEAGE = 64;

interface RuleState {
  factory: DetectorFactory;
  settings: RuleSettings;
  detector: Detector;
  machines: Map<string, AlertStateMachine>;
  /** Stored alert id of the firing alert per key. */
  open: Map<string, number>;
}

interface RunState {
  rules: Map<string, RuleState>;
  controls: ControlWatch;
  lastStep: number;
}

export interface EngineOptions {
  store: Store;
  hub: LiveHub;
  controls: ControlService;
  factories: readonly DetectorFactory[];
  webhooks: WebhookSender;
  log?: (msg: string, err?: unknown) => void;
}

export class AlertEngine implements PointsListener {
  private readonly runs = new Map<string, RunState>();
  /** Runs that ended in a rollback: batches still in flight from before it are stored but no longer judged. */
  private readonly rolledBackRuns = new Set<string>();
  /** Bumped by every settings change, so a run state built from settings read before it is not kept. */
  private generation = 0;
  private readonly store: Store;
  private readonly factories: readonly DetectorFactory[];
  /** Told when alert settings change here (so other servers sharing the store drop their detectors too). */
  onConfigChanged: ((run: string | null) => void) | null = null;
  /** Set by the cluster relay: a remedy was applied here for a run whose detectors run on another server. */
  onRemedyElsewhere: ((run: string, alertId: number) => void) | null = null;

  constructor(private readonly o: EngineOptions) {
    this.store = o.store;
    this.factories = o.factories;
    o.controls.onResult(async (control) => {
      const alert = await this.store.alerts.byControl(control.id);
      if (alert) this.o.hub.publish(alert.run, { type: 'alert', run: alert.run, alert });
      if (control.action === 'rollback' && control.status === 'applied') await this.rolledBack(control);
    });
  }

  // ---- configuration ----

  async rules(): Promise<
    Array<{ rule: string; description: string; defaults: RuleSettings; effective: RuleSettings }>
  > {
    const server = await this.serverConfig();
    return this.factories.map((f) => ({
      rule: f.rule,
      description: f.description,
      defaults: f.defaults,
      effective: effectiveSettings(f, server, {}),
    }));
  }

  async serverConfig(): Promise<AlertConfig> {
    return (await this.store.settings.get<AlertConfig>(SERVER_CONFIG_KEY)) ?? {};
  }

  /** Throws GW_ERR_UNKNOWN_RULE when a configuration names a rule that does not exist. */
  checkConfig(config: AlertConfig): void {
    checkRules(config, this.factories);
  }

  async setServerConfig(config: AlertConfig): Promise<void> {
    checkRules(config, this.factories);
    await this.store.settings.put(SERVER_CONFIG_KEY, config);
    this.configChanged(null);
    this.onConfigChanged?.(null);
  }

  /** Settings changed (here or on another server): the run's detectors, or all, are rebuilt on the next point. */
  configChanged(run: string | null): void {
    this.generation++;
    if (run === null) this.runs.clear();
    else this.runs.delete(run);
  }

  async runConfig(run: RunRef): Promise<{ config: AlertConfig; effective: Record<string, RuleSettings> }> {
    const config = await this.store.settings.runAlertConfig<AlertConfig>(run.rid);
    const server = await this.serverConfig();
    const effective: Record<string, RuleSettings> = {};
    for (const f of this.factories) effective[f.rule] = effectiveSettings(f, server, config);
    return { config, effective };
  }

  async setRunConfig(run: RunRef, config: AlertConfig): Promise<void> {
    checkRules(config, this.factories);
    await this.store.settings.setRunAlertConfig(run.rid, config);
    this.configChanged(run.id);
    this.onConfigChanged?.(run.id);
  }

  // ---- the ingest path ----

  /**
   * Observes one committed batch. The ingest service calls it once per batch, in commit order, and waits for it before
   * the run's next batch; store work (alerts, markers) happens only on a transition, so a quiet batch costs no I/O.
   */
  async onPoints(run: RunRef, points: readonly LivePoint[]): Promise<void> {
    try {
      if (this.rolledBackRuns.has(run.id)) return;
      const state = this.runs.get(run.id) ?? (await this.runState(run, firstStep(points)));
      const markers: NewMarker[] = [];
      for (const p of points) {
        const outputs = this.observe(state, p);
        if (outputs && !this.rolledBackRuns.has(run.id)) await this.act(run, outputs, p.step, markers);
      }
      // A batch's change points are stored together: one commit, not one per marker.
      if (markers.length > 0)
        for (const marker of await this.store.markers.add(run.rid, markers))
          this.o.hub.publish(run.id, { type: 'marker', run: run.id, marker });
    } catch (err) {
      this.o.log?.(`alert engine failed on run ${run.id}`, err);
    }
  }

  /**
   * Hands a committed batch of histograms to the detectors that read them. A run whose detectors are not built yet
   * is skipped: they are built on its next points and then replay the stored histograms.
   */
  async onDistributions(run: RunRef, records: readonly Distribution[]): Promise<void> {
    const state = this.rolledBackRuns.has(run.id) ? undefined : this.runs.get(run.id);
    if (!state) return;
    for (const d of records)
      observeDistribution(state, d.name, d.step, { edges: d.edges, counts: d.counts, nonFinite: d.nonFinite ?? 0 });
  }

  forgetRun(id: string): void {
    this.runs.delete(id);
  }

  /** The run's detector of `rule` if the run's detectors run on this server (liveness reads what run_hang's learnt). */
  detectorOf(runId: string, rule: string): Detector | undefined {
    return this.runs.get(runId)?.rules.get(rule)?.detector;
  }

  /** Builds a run's detectors and restores its firing alerts, then feeds them the history before step `before`. */
  private async runState(run: RunRef, before: number): Promise<RunState> {
    const generation = this.generation;
    const server = await this.serverConfig();
    const own = await this.store.settings.runAlertConfig<AlertConfig>(run.rid);
    const firing = await this.store.alerts.firing(run.rid);
    // Detectors that normalise the D loss need to know which GAN loss the trainer uses (it is in the run's config).
    const config = (await this.store.runs.get(run.id))?.config ?? {};
    const lsgan = ganModeOf(config) === 'lsgan';
    const userRules = await this.store.userRules.forRun(run.rid);
    const state: RunState = { rules: new Map(), controls: new ControlWatch(), lastStep: -1 };
    for (const factory of this.factories) {
      const settings = effectiveSettings(factory, server, own);
      if (!settings.enabled) continue;
      if (lsgan && 'lsgan' in settings.params && own.rules?.[factory.rule]?.params?.lsgan === undefined)
        settings.params.lsgan = 1;
      const rule: RuleState = {
        factory,
        settings,
        detector: factory.create({ settings, userRules }),
        machines: new Map(),
        open: new Map(),
      };
      // An alert that was firing when the server stopped stays open and can still resolve.
      for (const a of firing.filter((x) => x.rule === factory.rule)) {
        rule.open.set(a.key, a.id);
        rule.machines.set(a.key, AlertStateMachine.firing(settings, a.step_opened ?? -1, a.severity));
      }
      state.rules.set(factory.rule, rule);
    }
    await this.replay(run, state, before);
    // Settings changed while they were read: use this state for the batch at hand, rebuild for the next one.
    if (generation === this.generation) this.runs.set(run.id, state);
    return state;
  }

  /**
   * Feeds the detectors the run's stored steps in [before - REPLAY_STEPS, before). What they report is dropped: the
   * alerts it would open were opened by whoever watched those steps (the firing ones are restored from the store).
   */
  private async replay(run: RunRef, state: RunState, before: number): Promise<void> {
    const start = Math.max(0, before - REPLAY_STEPS);
    for (let from = start; from < before; from += REPLAY_PAGE) {
      for (const p of stepsOf(await this.store.series.window(run.rid, from, Math.min(before, from + REPLAY_PAGE))))
        this.observe(state, p);
    }
    if (before === 0) return;
    // One record per step at most, so a read of REPLAY_STEPS steps is never merged.
    for (const name of distributionNamesRead(state)) {
      const read = await this.store.distributions.read(run.rid, name, REPLAY_STEPS, start, before - 1);
      for (const r of read.records) observeDistribution(state, name, r.step, r);
    }
  }

  /** Feeds one step to every detector (synchronously); returns what they reported, or null when nothing. */
  private observe(state: RunState, p: LivePoint): Array<[RuleState, DetectorOutput]> | null {
    const values = new Map<string, number>();
    let changed: RebaselineCause | null = null;
    for (const name in p.values) {
      const v = decodeValue(p.values[name]!);
      values.set(name, v);
      if (state.controls.see(name, v)) changed = changeCause(name, changed);
    }
    if (changed) for (const r of state.rules.values()) r.detector.rebaseline(p.step, changed);
    state.lastStep = Math.max(state.lastStep, p.step);
    const point: StepValues = { step: p.step, wall: p.wall, values };
    let outputs: Array<[RuleState, DetectorOutput]> | null = null;
    for (const r of state.rules.values()) {
      const out = r.detector.observe(point);
      if (out) (outputs ??= []).push([r, out]);
    }
    return outputs;
  }

  /**
   * Drives the state machines with what the detectors reported for one step, storing and announcing transitions;
   * the markers they found go to `markers`, stored once the batch is done.
   */
  private async act(
    run: RunRef,
    outputs: Array<[RuleState, DetectorOutput]>,
    step: number,
    markers: NewMarker[],
  ): Promise<void> {
    for (const [r, out] of outputs) {
      for (const ev of out.evaluations) await this.evaluate(run, r, ev, step);
      for (const m of out.markers ?? [])
        markers.push({ metric: m.metric, step: m.step, changeAt: m.changeAt, kind: m.direction, evidence: m.evidence });
    }
  }

  private async evaluate(run: RunRef, r: RuleState, ev: Evaluation, step: number): Promise<void> {
    let machine = r.machines.get(ev.key);
    if (!machine) r.machines.set(ev.key, (machine = new AlertStateMachine(r.settings)));
    const t = machine.feed(ev, step);
    if (t) await this.transition(run, r, ev, t);
  }

  private async transition(run: RunRef, r: RuleState, ev: Evaluation, t: Transition): Promise<void> {
    const openId = r.open.get(ev.key);
    if (t.to === 'firing' && t.from !== 'firing') {
      const muted = (await this.store.alerts.latest(run.rid, r.factory.rule, ev.key))?.muted ?? false;
      const { alert, opened } = await this.store.alerts.open(run.rid, {
        rule: r.factory.rule,
        key: ev.key,
        severity: ev.severity,
        stepOpened: t.openedAt,
        message: ev.message,
        evidence: { ...ev.evidence, step: t.step },
        remedy: ev.remedy,
        muted,
      });
      r.open.set(ev.key, alert.id);
      // Not opened: another server watching the run during a handoff opened it first, and announced it.
      if (!opened) return;
      await this.announce('firing', alert);
      await this.maybeAutoApply(run, alert);
    } else if (t.to === 'firing' && openId !== undefined) {
      const before = await this.store.alerts.get(openId);
      const alert = await this.store.alerts.update(openId, {
        severity: ev.severity,
        message: ev.message,
        evidence: { ...ev.evidence, step: t.step },
        remedy: ev.remedy,
      });
      if (before && before.severity !== alert.severity) await this.announce('escalated', alert);
    } else if (t.to === 'resolved' && openId !== undefined) {
      const alert = await this.store.alerts.resolve(openId, t.step, {
        ...((await this.store.alerts.get(openId))?.evidence ?? {}),
        resolved_by: ev.evidence,
      });
      r.open.delete(ev.key);
      await this.announce('resolved', alert);
    }
  }

  private async announce(event: AlertEvent, alert: Alert): Promise<void> {
    this.o.hub.publish(alert.run, { type: 'alert', run: alert.run, alert });
    if (alert.muted) return;
    const name = (await this.store.runs.get(alert.run))?.name ?? alert.run;
    this.o.webhooks.send(event, alert, name);
  }

  private async maybeAutoApply(run: RunRef, alert: Alert): Promise<void> {
    const own = await this.store.settings.runAlertConfig<AlertConfig>(run.rid);
    const server = await this.serverConfig();
    if (!(own.auto_apply ?? server.auto_apply ?? false) || !alert.remedy?.action) return;
    if ((await this.appliedInLineage(run, alert.rule)) >= autoApplyCap(alert.rule, server, own)) return;
    await this.apply(alert.id, 'auto');
  }

  /**
   * Remedies of a rule applied in the run and its ancestors: a rollback continues as a child run, and the cap must
   * bound the whole chain, not restart with every child (else every rollback would allow another round of them).
   */
  private async appliedInLineage(run: RunRef, rule: string): Promise<number> {
    let applied = 0;
    let ref: RunRef | null = run;
    for (let generation = 0; ref && generation < MAX_LINEAGE; generation++) {
      applied += await this.store.alerts.appliedCount(ref.rid, rule);
      const parent: string | null = (await this.store.runs.get(ref.id))?.parent_id ?? null;
      ref = parent === null ? null : await this.store.runs.ref(parent);
    }
    return applied;
  }

  // ---- closing the loop ----

  /** Sends an alert's remedy to the run's trainer as a control; the rule then cools down and re-learns. */
  async apply(alertId: number, source: 'user' | 'auto'): Promise<Alert> {
    const alert = await this.store.alerts.get(alertId);
    if (!alert) throw gwError('GW_ERR_ALERT_NOT_FOUND', String(alertId));
    const action = alert.remedy?.action;
    if (!action) throw gwError('GW_ERR_NO_REMEDY', String(alertId));
    const run = await this.store.runs.ref(alert.run);
    if (!run) throw gwError('GW_ERR_RUN_NOT_FOUND', alert.run);
    const control = await this.o.controls.issue(run, action, `alert:${alert.id}:${source}`);
    const updated = await this.store.alerts.attachControl(alert.id, control.id);
    if (!this.coolDown(run.id, alert)) this.onRemedyElsewhere?.(run.id, alert.id);
    this.o.hub.publish(run.id, { type: 'alert', run: run.id, alert: updated });
    return updated;
  }

  /**
   * A rollback ends its run (training continues in a child run, whose detectors judge it afresh): the run's firing
   * alerts resolve there, naming the rollback, so a finished run is not left with alerts nobody can act on.
   */
  private async rolledBack(control: Control): Promise<void> {
    const run = await this.store.runs.ref(control.run);
    if (!run) return;
    this.rolledBackRuns.add(run.id);
    this.forgetRun(run.id);
    const lastStep = (await this.store.runs.get(run.id))?.last_step ?? control.result_step ?? 0;
    for (const firing of await this.store.alerts.firing(run.rid)) {
      const alert = await this.store.alerts.resolve(firing.id, lastStep, {
        ...firing.evidence,
        resolved_by: { rollback: control.id, message: control.message },
      });
      await this.announce('resolved', alert);
    }
  }

  /** A remedy was applied through another server for a run whose detectors run here: the rule cools down here. */
  async remedyAppliedElsewhere(alertId: number): Promise<void> {
    const alert = await this.store.alerts.get(alertId);
    if (alert) this.coolDown(alert.run, alert);
  }

  /** Starts the alert's cooldown and makes its rule re-learn; false when this server holds no detectors for the run. */
  private coolDown(run: string, alert: Alert): boolean {
    const state = this.runs.get(run);
    const rule = state?.rules.get(alert.rule);
    if (!state || !rule) return false;
    rule.machines.get(alert.key)?.startCooldown(state.lastStep + rule.settings.cooldown);
    rule.detector.rebaseline(state.lastStep, 'remedy');
    return true;
  }
}

function firstStep(points: readonly LivePoint[]): number {
  let first = Number.POSITIVE_INFINITY;
  for (const p of points) if (p.step < first) first = p.step;
  return first === Number.POSITIVE_INFINITY ? 0 : first;
}

/** Every distribution name some detector of the run reads. */
function distributionNamesRead(state: RunState): Set<string> {
  const names = new Set<string>();
  for (const r of state.rules.values()) for (const n of r.detector.distributionNames ?? []) names.add(n);
  return names;
}

/** Hands one histogram to the run's detectors that read its name. */
function observeDistribution(state: RunState, name: string, step: number, h: Histogram): void {
  for (const r of state.rules.values())
    if (r.detector.distributionNames?.includes(name)) r.detector.observeDistribution?.({ name, step, histogram: h });
}
