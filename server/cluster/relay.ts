// The servers sharing a store, as one: live frames published on any server reach every server's browsers, a control
// issued on one server reaches the trainer connected to another, a claimed run moves its detectors, a remedy applied
// on one server cools the rule down where the run's detectors are, and alert settings changed on one server apply on
// all. Messages travel over the store's events channel (PostgreSQL LISTEN/NOTIFY); a server never receives its own,
// so nothing is delivered twice. A large batch of points travels as a reference to the stored batch: every server
// would otherwise receive it whole (through PostgreSQL, which pays for it once per server), while only those whose
// browsers watch the run, or that hold the run, need it; they read it back from the store.
import type { LivePoint, LiveServerFrame } from '../../protocol/index.js';
import { stepsOf, type Store } from '../../db/store.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { ControlService } from '../services/controls.js';
import type { LiveHub } from '../services/live-hub.js';
import type { DetectorLease } from './detectors.js';
import {
  decodeMessage,
  encodeMessage,
  storedBatch,
  type ClusterMessage,
  type MessageKind,
  type StoredBatch,
} from './messages.js';
import type { PresenceService } from './presence.js';

export interface RelayParts {
  store: Store;
  hub: LiveHub;
  presence: PresenceService;
  controls: ControlService;
  alerts: AlertEngine;
  lease: DetectorLease;
  log: (msg: string, err?: unknown) => void;
}

/** A points frame with more values than this crosses to the other servers as a reference ('stored'). */
export const INLINE_VALUES = 1000;

export class ClusterRelay {
  private unsubscribe: (() => void) | null = null;
  private unsubscribeResumed: (() => void) | null = null;
  /** Relayed work of one run is handled in arrival order (detectors must see batches in order). */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly p: RelayParts) {}

  start(): void {
    const { hub, controls, alerts, store } = this.p;
    this.unsubscribe = store.events.subscribe((text) => this.receive(text));
    this.unsubscribeResumed = store.events.onResumed(() => void this.resumed());
    // Frames are relayed only while another server is alive to receive them: one server pays nothing.
    hub.relay = (run, frame, encode) => {
      if (this.p.presence.alive <= 1) return;
      if (frame.type === 'points' && valueCount(frame.points) > INLINE_VALUES)
        this.send('stored', run, JSON.stringify(storedBatch(frame.points)));
      else this.send('frame', run, encode());
    };
    controls.onUndelivered = (run, control) => this.send('control', run.id, String(control.id));
    alerts.onConfigChanged = (run) => this.send('alerts', run ?? '*', '');
    alerts.onRemedyElsewhere = (run, alertId) => this.send('remedy', run, String(alertId));
    this.send('hello', '*', '');
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribeResumed?.();
    this.unsubscribe = null;
    this.unsubscribeResumed = null;
    this.p.hub.relay = null;
  }

  /** Tells the other servers that this one now holds the run. */
  claimed(run: string): void {
    this.send('claim', run, '');
  }

  private send(kind: MessageKind, run: string, body: string): void {
    this.p.store.events.publish(encodeMessage({ kind, origin: this.p.presence.id, run, body }));
  }

  private receive(text: string): void {
    const m = decodeMessage(text);
    if (!m || m.origin === this.p.presence.id) return;
    switch (m.kind) {
      case 'frame':
        // In order with the run's stored batches being read back, so browsers see its frames in the order sent.
        return this.inOrder(m, async () => {
          this.p.hub.deliver(m.run, m.body);
          if (this.p.presence.holds(m.run) && m.body.startsWith('{"type":"points"')) await this.points(m);
          else if (this.p.presence.holds(m.run) && m.body.startsWith('{"type":"distribution"'))
            await this.distribution(m);
        });
      case 'stored':
        if (!this.p.hub.watched(m.run) && !this.p.presence.holds(m.run)) return;
        return this.inOrder(m, () => this.stored(m));
      case 'control':
        return this.inOrder(m, () => this.p.controls.deliverIssuedElsewhere(m.run, Number(m.body)));
      case 'claim':
        this.p.presence.claimedElsewhere(m.run, m.origin);
        return this.p.lease.movedAway(m.run);
      case 'remedy':
        if (!this.p.presence.holds(m.run)) return;
        return this.inOrder(m, () => this.p.alerts.remedyAppliedElsewhere(Number(m.body)));
      case 'alerts':
        return this.p.alerts.configChanged(m.run === '*' ? null : m.run);
      case 'hello':
        this.p.presence.alive = Math.max(this.p.presence.alive, 2);
        return;
    }
  }

  /**
   * The link to the other servers is back after an outage, and what they sent meanwhile is lost. Everything that
   * matters is in the store, so each part is made up from there: browsers reload what they show, the held runs'
   * detectors are rebuilt from the stored history on their next batch (including batches posted through other
   * servers that never reached them), controls issued elsewhere for the trainers connected here are delivered, and
   * alert settings are read again.
   */
  private async resumed(): Promise<void> {
    const { hub, presence, alerts, controls, log } = this.p;
    this.send('hello', '*', '');
    hub.broadcast({ type: 'resync' });
    alerts.configChanged(null);
    for (const run of presence.heldRuns())
      await controls
        .deliverStillPending(run)
        .catch((err: unknown) => log(`cluster: delivering controls of run ${run} after an outage`, err));
  }

  /** A large batch committed elsewhere: read back for the browsers watching the run here and for its detectors. */
  private async stored(m: ClusterMessage): Promise<void> {
    const batch = JSON.parse(m.body) as StoredBatch;
    const run = await this.p.store.runs.ref(m.run);
    if (!run) return;
    const metrics = new Set(batch.metrics);
    const rows = await this.p.store.series.window(run.rid, batch.from, batch.to + 1);
    const points = stepsOf(rows.filter((r) => metrics.has(r.metric)));
    if (points.length === 0) return;
    this.p.hub.deliver(m.run, JSON.stringify({ type: 'points', run: m.run, points }));
    if (this.p.presence.holds(m.run)) await this.p.lease.onRelayedPoints(run, points);
  }

  private async points(m: ClusterMessage): Promise<void> {
    const frame = JSON.parse(m.body) as Extract<LiveServerFrame, { type: 'points' }>;
    const run = await this.p.store.runs.ref(m.run);
    if (run) await this.p.lease.onRelayedPoints(run, frame.points);
  }

  /**
   * A histogram committed elsewhere: the frame names it (a batch's latest step per name), the store has it. Earlier
   * steps of the same batch are not relayed; the detectors that read distributions judge by the latest.
   */
  private async distribution(m: ClusterMessage): Promise<void> {
    const frame = JSON.parse(m.body) as Extract<LiveServerFrame, { type: 'distribution' }>;
    const run = await this.p.store.runs.ref(m.run);
    if (!run) return;
    const [r] = (await this.p.store.distributions.read(run.rid, frame.name, 1, frame.step, frame.step)).records;
    if (!r) return;
    const record = { name: frame.name, step: r.step, edges: r.edges, counts: r.counts, nonFinite: r.nonFinite };
    await this.p.lease.onRelayedDistributions(run, [record]);
  }

  private inOrder(m: ClusterMessage, work: () => Promise<void>): void {
    const tail = (this.tails.get(m.run) ?? Promise.resolve())
      .then(work)
      .catch((err: unknown) => this.p.log(`cluster: handling a relayed ${m.kind} for run ${m.run}`, err));
    this.tails.set(m.run, tail);
    void tail.then(() => {
      if (this.tails.get(m.run) === tail) this.tails.delete(m.run);
    });
  }
}

function valueCount(points: readonly LivePoint[]): number {
  let n = 0;
  for (const p of points) for (const _ in p.values) n++;
  return n;
}
