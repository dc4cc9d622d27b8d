// What every route and socket handler shares: the store, the live hub, connected trainers, and the services over them.
import type { RunStatus } from '../protocol/index.js';
import type { RunRef, Store } from '../db/store.js';
import type { TokenConfig } from './auth.js';
import { AlertEngine } from './alerts/engine.js';
import type { DetectorFactory } from './alerts/types.js';
import { WebhookSender } from './alerts/webhooks.js';
import { ControlService } from './controls.js';
import { LiveHub } from './hub.js';
import { IngestService } from './ingest.js';
import { TrainerRegistry } from './trainers.js';

export interface ServerContext {
  readonly store: Store;
  readonly tokens: TokenConfig;
  readonly hub: LiveHub;
  readonly trainers: TrainerRegistry;
  readonly ingest: IngestService;
  readonly controls: ControlService;
  readonly alerts: AlertEngine;
  readonly webhooks: WebhookSender;
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
  const setStatus = async (run: RunRef, status: RunStatus): Promise<void> => {
    await store.runs.setStatus(run.rid, status);
    const updated = await store.runs.get(run.id);
    if (updated) hub.publish(run.id, { type: 'run', run: updated });
  };
  return {
    store,
    tokens,
    hub,
    trainers,
    ingest: new IngestService(store, hub, [alerts]),
    controls,
    alerts,
    webhooks,
    startedAt: Date.now(),
    log: (msg, err) => options.log?.(msg, err),
    setStatus,
  };
}
