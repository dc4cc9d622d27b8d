// What every route and socket handler shares: the store, the live hub, connected trainers, and the services over them.
import type { RunStatus } from '../protocol/index.js';
import type { RunRef, Store } from '../db/store.js';
import type { TokenConfig } from './auth.js';
import { AlertEngine } from './alerts/engine.js';
import type { DetectorFactory } from './alerts/types.js';
import { WebhookSender } from './alerts/webhooks.js';
import { RUN_HANG, StepIntervals } from './alerts/liveness/rules.js';
import { LivenessWatch } from './alerts/liveness/watch.js';
import { DetectorLease } from './cluster/detectors.js';
import { PresenceService, STALE_SECONDS } from './cluster/presence.js';
import { ClusterRelay } from './cluster/relay.js';
import { ControlService } from './services/controls.js';
import { LiveHub } from './services/live-hub.js';
import { IngestService } from './services/ingest.js';
import { TrainerRegistry } from './services/trainers.js';

export interface ServerContext {
  readonly store: Store;
  readonly tokens: TokenConfig;
  readonly hub: LiveHub;
  readonly trainers: TrainerRegistry;
  readonly ingest: IngestService;
  readonly controls: ControlService;
  readonly alerts: AlertEngine;
  readonly webhooks: WebhookSender;
  /** The liveness alerts (hang, crash, ended): a clock tick and status changes. */
  readonly liveness: LivenessWatch;
  /** This server among those sharing the store: heartbeat, the runs held here, the relay of frames and notices. */
  readonly presence: PresenceService;
  readonly relay: ClusterRelay;
  readonly startedAt: number;
  /** Logs a server-side failure (never a user's mistake). */
  log(msg: string, err?: unknown): void;
  /** Sets a run's status and tells the live hub. */
  setStatus(run: RunRef, status: RunStatus): Promise<void>;
}

export interface ContextOptions {
  detectors: readonly DetectorFactory[];
  webhooks: readonly string[];
  publicUrl: string;
  log?: (msg: string, err?: unknown) => void;
}

export function createContext(store: Store, tokens: TokenConfig, options: ContextOptions): ServerContext {
  const hub = new LiveHub();
  const trainers = new TrainerRegistry();
  const controls = new ControlService(store, hub, trainers);
  const webhooks = new WebhookSender({
    urls: options.webhooks,
    publicUrl: options.publicUrl,
    onGiveUp: (url, error) => options.log?.(`webhook ${url} gave up: ${error}`),
  });
  const alerts = new AlertEngine({ store, hub, controls, factories: options.detectors, webhooks, log: options.log });
  const log = (msg: string, err?: unknown): void => options.log?.(msg, err);
  let liveness: LivenessWatch | null = null;
  const setStatus = async (run: RunRef, status: RunStatus): Promise<void> => {
    await store.runs.setStatus(run.rid, status);
    const updated = await store.runs.get(run.id);
    if (updated) hub.publish(run.id, { type: 'run', run: updated });
    await liveness?.statusChanged(run, status);
  };
  // Runs whose server is gone (or, at start-up, that no live server holds) lost their trainer with it.
  const orphaned = async (runs: RunRef[]): Promise<void> => {
    for (const run of runs) await setStatus(run, 'disconnected');
  };
  const presence = new PresenceService(store, orphaned, log);
  const lease = new DetectorLease(presence, alerts, log);
  const relay = new ClusterRelay({ store, hub, presence, controls, alerts, lease, log });
  liveness = new LivenessWatch({
    store,
    hub,
    webhooks,
    factories: options.detectors,
    intervals: (id) => {
      const learner = alerts.detectorOf(id, RUN_HANG);
      return learner instanceof StepIntervals ? learner : undefined;
    },
    // The holder judges its runs; the leader judges the runs no live server holds.
    responsible: async (run, leader) => {
      const holder = await presence.holder(run);
      return holder === null ? leader : holder === presence.id;
    },
    leader: () => store.presence.isLeader(presence.id, STALE_SECONDS),
    log,
  });
  return {
    store,
    tokens,
    hub,
    trainers,
    ingest: new IngestService(store, hub, [lease]),
    controls,
    alerts,
    webhooks,
    liveness,
    presence,
    relay,
    startedAt: Date.now(),
    log,
    setStatus,
  };
}
