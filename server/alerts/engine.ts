// The alert engine: runs every enabled detector on every ingested step of every run, drives each alert's state
// machine, stores and pushes alerts and markers, sends webhooks, and turns remedies into controls (on a click or,
// when a run opts in, automatically).
import { decodeValue, gwError, type Alert, type AlertConfig, type LivePoint } from '../../protocol/index.js';
import type { RunRef, Store } from '../../db/store.js';
import type { ControlService } from '../controls.js';
import type { LiveHub } from '../hub.js';
import type { PointsListener } from '../ingest.js';
import { autoApplyCap, checkRules, effectiveSettings } from './config.js';
import { ControlWatch } from './control-watch.js';
import { AlertStateMachine, type Transition } from './state.js';
import type { Detector, DetectorFactory, Evaluation, RuleSettings, StepValues } from './types.js';
import type { AlertEvent, WebhookSender } from './webhooks.js';

const SERVER_CONFIG_KEY = 'alerts.defaults';

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
  private readonly store: Store;
  private readonly factories: readonly DetectorFactory[];

  constructor(private readonly o: EngineOptions) {
    this.store = o.store;
    this.factories = o.factories;
    o.controls.onResult((control) => {
      const alert = this.store.alerts.byControl(control.id);
      if (alert) this.o.hub.publish(alert.run, { type: 'alert', run: alert.run, alert });
    });
  }

  // ---- configuration ----

  rules(): Array<{ rule: string; description: string; defaults: RuleSettings; effective: RuleSettings }> {
    const server = this.serverConfig();
    return this.factories.map((f) => ({
      rule: f.rule,
      description: f.description,
      defaults: f.defaults,
      effective: effectiveSettings(f, server, {}),
    }));
  }

  serverConfig(): AlertConfig {
    return this.store.settings.get<AlertConfig>(SERVER_CONFIG_KEY) ?? {};
  }

  /** Throws GW_ERR_UNKNOWN_RULE when a configuration names a rule that does not exist. */
  checkConfig(config: AlertConfig): void {
    checkRules(config, this.factories);
  }

  setServerConfig(config: AlertConfig): void {
    checkRules(config, this.factories);
    this.store.settings.put(SERVER_CONFIG_KEY, config);
    this.runs.clear(); // detectors are rebuilt with the new settings on the next point
  }

  runConfig(run: RunRef): { config: AlertConfig; effective: Record<string, RuleSettings> } {
    const config = this.store.settings.runAlertConfig<AlertConfig>(run.rid);
    const server = this.serverConfig();
    const effective: Record<string, RuleSettings> = {};
    for (const f of this.factories) effective[f.rule] = effectiveSettings(f, server, config);
    return { config, effective };
  }

  setRunConfig(run: RunRef, config: AlertConfig): void {
    checkRules(config, this.factories);
    this.store.settings.setRunAlertConfig(run.rid, config);
    this.runs.delete(run.id);
  }

  // ---- the ingest path ----

  onPoints(run: RunRef, points: readonly LivePoint[]): void {
    try {
      const state = this.runState(run);
      for (const p of points) this.observe(run, state, p);
    } catch (err) {
      this.o.log?.(`alert engine failed on run ${run.id}`, err);
    }
  }

  forgetRun(id: string): void {
    this.runs.delete(id);
  }

  private runState(run: RunRef): RunState {
    let state = this.runs.get(run.id);
    if (state) return state;
    const server = this.serverConfig();
    const own = this.store.settings.runAlertConfig<AlertConfig>(run.rid);
    const firing = this.store.alerts.firing(run.rid);
    // Detectors that normalise the D loss need to know which GAN loss the trainer uses (it is in the run's config).
    const lsgan = this.store.runs.get(run.id)?.config.ganMode === 'lsgan';
    state = { rules: new Map(), controls: new ControlWatch(), lastStep: -1 };
    for (const factory of this.factories) {
      const settings = effectiveSettings(factory, server, own);
      if (!settings.enabled) continue;
      if (lsgan && 'lsgan' in settings.params && own.rules?.[factory.rule]?.params?.lsgan === undefined)
        settings.params.lsgan = 1;
      const rule: RuleState = {
        factory,
        settings,
        detector: factory.create({ settings }),
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
    this.runs.set(run.id, state);
    return state;
  }

  private observe(run: RunRef, state: RunState, p: LivePoint): void {
    const values = new Map<string, number>();
    let changed = false;
    for (const name in p.values) {
      const v = decodeValue(p.values[name]!);
      values.set(name, v);
      if (state.controls.see(name, v)) changed = true;
    }
    if (changed) for (const r of state.rules.values()) r.detector.rebaseline(p.step);
    state.lastStep = Math.max(state.lastStep, p.step);
    const point: StepValues = { step: p.step, wall: p.wall, values };
    for (const r of state.rules.values()) {
      const out = r.detector.observe(point);
      if (!out) continue;
      for (const ev of out.evaluations) this.evaluate(run, r, ev, p.step);
      for (const m of out.markers ?? []) {
        const marker = this.store.markers.add(run.rid, {
          metric: m.metric,
          step: m.step,
          changeAt: m.changeAt,
          kind: m.direction,
          evidence: m.evidence,
        });
        this.o.hub.publish(run.id, { type: 'marker', run: run.id, marker });
      }
    }
  }

  private evaluate(run: RunRef, r: RuleState, ev: Evaluation, step: number): void {
    let machine = r.machines.get(ev.key);
    if (!machine) r.machines.set(ev.key, (machine = new AlertStateMachine(r.settings)));
    const t = machine.feed(ev, step);
    if (t) this.transition(run, r, ev, t);
  }

  private transition(run: RunRef, r: RuleState, ev: Evaluation, t: Transition): void {
    const openId = r.open.get(ev.key);
    if (t.to === 'firing' && t.from !== 'firing') {
      const muted = this.store.alerts.latest(run.rid, r.factory.rule, ev.key)?.muted ?? false;
      const alert = this.store.alerts.open(run.rid, {
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
      this.announce('firing', alert);
      this.maybeAutoApply(run, alert);
    } else if (t.to === 'firing' && openId !== undefined) {
      const before = this.store.alerts.get(openId);
      const alert = this.store.alerts.update(openId, {
        severity: ev.severity,
        message: ev.message,
        evidence: { ...ev.evidence, step: t.step },
        remedy: ev.remedy,
      });
      if (before && before.severity !== alert.severity) this.announce('escalated', alert);
    } else if (t.to === 'resolved' && openId !== undefined) {
      const alert = this.store.alerts.resolve(openId, t.step, {
        ...(this.store.alerts.get(openId)?.evidence ?? {}),
        resolved_by: ev.evidence,
      });
      r.open.delete(ev.key);
      this.announce('resolved', alert);
    }
  }

  private announce(event: AlertEvent, alert: Alert): void {
    this.o.hub.publish(alert.run, { type: 'alert', run: alert.run, alert });
    if (alert.muted) return;
    const name = this.store.runs.get(alert.run)?.name ?? alert.run;
    this.o.webhooks.send(event, alert, name);
  }

  private maybeAutoApply(run: RunRef, alert: Alert): void {
    const own = this.store.settings.runAlertConfig<AlertConfig>(run.rid);
    const server = this.serverConfig();
    if (!(own.auto_apply ?? server.auto_apply ?? false) || !alert.remedy?.action) return;
    if (this.store.alerts.appliedCount(run.rid, alert.rule) >= autoApplyCap(alert.rule, server, own)) return;
    this.apply(alert.id, 'auto');
  }

  // ---- closing the loop ----

  /** Sends an alert's remedy to the run's trainer as a control; the rule then cools down and re-learns. */
  apply(alertId: number, source: 'user' | 'auto'): Alert {
    const alert = this.store.alerts.get(alertId);
    if (!alert) throw gwError('GW_ERR_ALERT_NOT_FOUND', String(alertId));
    const action = alert.remedy?.action;
    if (!action) throw gwError('GW_ERR_NO_REMEDY', String(alertId));
    const run = this.store.runs.ref(alert.run)!;
    const control = this.o.controls.issue(run, action, `alert:${alert.id}:${source}`);
    const updated = this.store.alerts.attachControl(alert.id, control.id);
    const state = this.runs.get(run.id);
    const rule = state?.rules.get(alert.rule);
    if (state && rule) {
      rule.machines.get(alert.key)?.startCooldown(state.lastStep + rule.settings.cooldown);
      rule.detector.rebaseline(state.lastStep);
    }
    this.o.hub.publish(run.id, { type: 'alert', run: run.id, alert: updated });
    return updated;
  }
}
