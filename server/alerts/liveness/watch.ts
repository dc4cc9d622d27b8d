// LivenessWatch: opens and resolves the liveness alerts (rules.ts) on a clock tick and on status changes. The store
// is the state: an alert is open when a firing row of (run, rule) exists, so a restarted server, or another server
// taking a run over, carries on from what is stored. One server judges each run at a tick: the run's holder (its
// trainer is connected there; that is where run_hang learnt the step interval), or, for a run no live server holds
// (disconnected, or fed over HTTP without a polling trainer), the leader (the live server with the smallest id). A
// status change is judged by the server that made it (it happens once). The clock is injected (`now`) and `tick()` is
// public, so tests drive time explicitly; the timer only calls tick() every `tickMs`.
import type { Alert, AlertConfig, Run, RunStatus } from '../../../protocol/index.js';
import type { RunRef, Store } from '../../../db/store.js';
import type { LiveHub } from '../../services/live-hub.js';
import { effectiveSettings } from '../config.js';
import type { DetectorFactory, RuleSettings } from '../types.js';
import type { WebhookSender } from '../webhooks.js';
import { paramsOf } from '../detectors/common.js';
import {
  CRASHED_DEFAULTS,
  crashedVerdict,
  ENDED_DEFAULTS,
  endedVerdict,
  HANG_DEFAULTS,
  hangVerdict,
  LIVENESS_RULES,
  RUN_CRASHED,
  RUN_ENDED,
  RUN_HANG,
  StepIntervals,
  type LivenessRule,
  type Verdict,
} from './rules.js';

/** Default time between ticks; each tick costs two run listings and three alert listings. */
export const DEFAULT_TICK_MS = 10_000;

const SERVER_CONFIG_KEY = 'alerts.defaults';

export interface LivenessParts {
  store: Store;
  hub: LiveHub;
  webhooks: WebhookSender;
  /** The rules the server runs (a liveness rule left out of them is off). */
  factories: readonly DetectorFactory[];
  /** run_hang's step-interval learner for a run whose detectors run here. */
  intervals: (runId: string) => StepIntervals | undefined;
  /** Whether this server judges the run at a tick (given whether it leads the servers this tick). */
  responsible: (run: RunRef, leader: boolean) => Promise<boolean>;
  /** Whether this server leads (judges the runs no live server holds). */
  leader: () => Promise<boolean>;
  /** Milliseconds since the epoch. */
  now?: () => number;
  log?: (msg: string, err?: unknown) => void;
}

type Settings = Partial<Record<LivenessRule, RuleSettings>>;

export class LivenessWatch {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** Work on one run (a tick's judgement, a status change) happens one piece at a time. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly p: LivenessParts) {
    this.now = p.now ?? Date.now;
  }

  start(tickMs = DEFAULT_TICK_MS): void {
    this.stop();
    this.timer = setInterval(() => void this.tick(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Judges every run this server is responsible for at `nowMs`; a tick still running is waited for, not doubled. */
  tick(nowMs: number = this.now()): Promise<void> {
    this.ticking ??= this.judgeAll(nowMs)
      .catch((err: unknown) => this.p.log?.('liveness tick failed', err))
      .finally(() => (this.ticking = null));
    return this.ticking;
  }

  /** The run's status was just set on this server: run_ended is noticed, and alerts the new status ends resolve. */
  statusChanged(run: RunRef, status: RunStatus): Promise<void> {
    return this.serial(run.id, async () => {
      const current = await this.p.store.runs.get(run.id);
      if (!current || current.status !== status) return; // changed again meanwhile: that change is judged too
      const settings = await this.settings(run.rid, await this.serverConfig());
      const ended = settings.run_ended;
      if (ended?.enabled)
        await this.notice(run, current, endedVerdict(current, paramsOf({ settings: ended }, ENDED_DEFAULTS)));
      if (status !== 'running') await this.resolveIfOpen(run, current, RUN_HANG, { status });
      if (status !== 'disconnected') await this.resolveIfOpen(run, current, RUN_CRASHED, { status });
    });
  }

  private async judgeAll(nowMs: number): Promise<void> {
    const { store } = this.p;
    const [running, disconnected, open] = await Promise.all([
      store.runs.list({ status: 'running' }),
      store.runs.list({ status: 'disconnected' }),
      Promise.all([RUN_HANG, RUN_CRASHED].map((rule) => store.alerts.list({ state: 'firing', rule, limit: 10_000 }))),
    ]);
    const runs = new Map<string, Run>();
    for (const r of [...running, ...disconnected]) runs.set(r.id, r);
    const firing = new Map<string, Set<string>>();
    for (const a of open.flat()) firing.set(a.run, (firing.get(a.run) ?? new Set()).add(a.rule));
    for (const id of firing.keys()) {
      const run = runs.has(id) ? null : await store.runs.get(id);
      if (run) runs.set(id, run);
    }
    let server: AlertConfig | null = null;
    let leader: boolean | null = null;
    for (const run of runs.values()) {
      const open = firing.get(run.id) ?? new Set<string>();
      if (this.settled(run, open, nowMs)) continue;
      const ref = await store.runs.ref(run.id);
      if (!ref || !(await this.p.responsible(ref, (leader ??= await this.p.leader())))) continue;
      server ??= await this.serverConfig();
      const config = server;
      await this.serial(run.id, () => this.judge(ref, nowMs, config, open.size > 0));
    }
  }

  /**
   * Nothing can change for this run at this tick, judged without the store: a running run quieter than the threshold
   * its learner knows (the common case, free), or a disconnected run whose crash alert is open already.
   */
  private settled(run: Run, open: ReadonlySet<string>, nowMs: number): boolean {
    if (run.status === 'running' && open.size === 0) {
      const learner = this.p.intervals(run.id);
      return (
        learner !== undefined && (run.last_seen_at === null || nowMs / 1000 - run.last_seen_at <= learner.threshold())
      );
    }
    return run.status === 'disconnected' && open.size === 1 && open.has(RUN_CRASHED);
  }

  /** One run at one tick: run_hang and run_crashed open or resolve. */
  private async judge(ref: RunRef, nowMs: number, server: AlertConfig, hasFiring: boolean): Promise<void> {
    const run = await this.p.store.runs.get(ref.id);
    if (!run) return;
    const settings = await this.settings(ref.rid, server);
    const hang = settings.run_hang;
    if (hang?.enabled) {
      const median = this.p.intervals(run.id)?.median() ?? null;
      const verdict = hangVerdict(run, nowMs, paramsOf({ settings: hang }, HANG_DEFAULTS), median);
      if (verdict.enter || hasFiring) await this.apply(ref, run, RUN_HANG, verdict);
    } else if (hasFiring) await this.resolveIfOpen(ref, run, RUN_HANG, { disabled: 1 });
    const crashed = settings.run_crashed;
    if (crashed?.enabled) {
      const verdict = crashedVerdict(run, nowMs, paramsOf({ settings: crashed }, CRASHED_DEFAULTS));
      if (verdict.enter || hasFiring) await this.apply(ref, run, RUN_CRASHED, verdict);
    } else if (hasFiring) await this.resolveIfOpen(ref, run, RUN_CRASHED, { disabled: 1 });
  }

  /** Opens the rule's alert when the verdict enters and none is open; resolves the open one when it does not. */
  private async apply(ref: RunRef, run: Run, rule: LivenessRule, verdict: Verdict): Promise<void> {
    if (!verdict.enter) return this.resolveIfOpen(ref, run, rule, verdict.evidence);
    const { store } = this.p;
    if ((await store.alerts.firing(ref.rid)).some((a) => a.rule === rule)) return;
    const muted = (await store.alerts.latest(ref.rid, rule, ''))?.muted ?? false;
    const { alert, opened } = await store.alerts.open(ref.rid, {
      rule,
      key: '',
      severity: verdict.severity,
      stepOpened: run.last_step ?? 0,
      message: verdict.message,
      evidence: verdict.evidence,
      remedy: null,
      muted,
    });
    if (opened) this.announce('firing', alert, run.name); // else another server opened it a moment ago
  }

  /**
   * run_ended is an event, not a condition: its alert opens and resolves at once (a webhook for the opening only), so
   * ended runs do not pile up open alerts. Once per ending: not again for the same status at the same last step.
   */
  private async notice(ref: RunRef, run: Run, verdict: Verdict): Promise<void> {
    if (!verdict.enter) return;
    const { store } = this.p;
    const last = await store.alerts.latest(ref.rid, RUN_ENDED, '');
    if (last && last.evidence.status === run.status && last.evidence.last_step === run.last_step) return;
    const { alert, opened } = await store.alerts.open(ref.rid, {
      rule: RUN_ENDED,
      key: '',
      severity: verdict.severity,
      stepOpened: run.last_step ?? 0,
      message: verdict.message,
      evidence: verdict.evidence,
      remedy: null,
      muted: last?.muted ?? false,
    });
    if (!opened) return; // another server is noticing the same ending
    this.announce('firing', alert, run.name);
    const closed = await store.alerts.resolve(alert.id, run.last_step ?? 0, {
      ...alert.evidence,
      resolved_by: 'event',
    });
    this.p.hub.publish(closed.run, { type: 'alert', run: closed.run, alert: closed });
  }

  private async resolveIfOpen(
    ref: RunRef,
    run: Run,
    rule: LivenessRule,
    evidence: Record<string, unknown>,
  ): Promise<void> {
    const { store } = this.p;
    for (const open of (await store.alerts.firing(ref.rid)).filter((a) => a.rule === rule)) {
      const alert = await store.alerts.resolve(open.id, run.last_step ?? 0, {
        ...open.evidence,
        resolved_by: evidence,
      });
      this.announce('resolved', alert, run.name);
    }
  }

  /** As the engine announces its alerts: a live frame always, a webhook unless the alert is muted. */
  private announce(event: 'firing' | 'resolved', alert: Alert, runName: string): void {
    this.p.hub.publish(alert.run, { type: 'alert', run: alert.run, alert });
    if (!alert.muted) this.p.webhooks.send(event, alert, runName);
  }

  private async serverConfig(): Promise<AlertConfig> {
    return (await this.p.store.settings.get<AlertConfig>(SERVER_CONFIG_KEY)) ?? {};
  }

  /** The liveness rules' settings for a run (defaults, then server-wide, then the run's own); absent rules are off. */
  private async settings(rid: number, server: AlertConfig): Promise<Settings> {
    const own = await this.p.store.settings.runAlertConfig<AlertConfig>(rid);
    const out: Settings = {};
    for (const f of this.p.factories)
      if ((LIVENESS_RULES as readonly string[]).includes(f.rule))
        out[f.rule as LivenessRule] = effectiveSettings(f, server, own);
    return out;
  }

  private serial(runId: string, work: () => Promise<void>): Promise<void> {
    const tail = (this.tails.get(runId) ?? Promise.resolve())
      .then(work)
      .catch((err: unknown) => this.p.log?.(`liveness of run ${runId}`, err));
    this.tails.set(runId, tail);
    void tail.then(() => {
      if (this.tails.get(runId) === tail) this.tails.delete(runId);
    });
    return tail;
  }
}
