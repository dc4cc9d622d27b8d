// The training loop: epochs of shuffled batches through BicycleGAN.trainStep, metrics pushed to the monitor, controls
// applied at step boundaries, validation every few epochs, early stopping, and checkpoints that let a resumed run
// reach exactly the result it would have reached without the stop (the trainer's RNG, the position inside the epoch
// and the early-stopping state are saved beside the model).
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Control, Run } from 'ganwatch/client';
import type { RollbackArgs } from '../protocol/controls.js';
import { isGanwatchError } from '../protocol/errors.js';
import { METRIC } from '../protocol/index.js';
import { importCheckpoint, saveCheckpoint, type CheckpointExtra } from './checkpoint.js';
import { applyControl } from './controls.js';
import type { PairDataset } from './data/index.js';
import type { StepDiagnostics } from './diagnostics.js';
import type { BicycleGAN, StepMetrics } from './models/bicyclegan.js';
import type { TrainerOptions } from './options.js';
import { formatNumber, type Progress } from './progress.js';
import { hashSeed, Rng, type RngState } from './rng.js';
import { applyRollbackOverrides, readRollbackSource, type RollbackSource } from './rollback.js';
import { EarlyStopping, type EarlyStopState, type ValidationOutput, type Validator } from './validate.js';

/** What each step pushes: the model's metrics and the step's timing. */
export type LoopStepMetrics = StepMetrics & {
  [METRIC.perfStepMs]: number;
  [METRIC.perfImagesPerS]: number;
};

/** Where a run is: what a checkpoint stores beside the model (as CheckpointExtra.trainer). */
export interface LoopState {
  /** The epoch in progress, or the next to start when batchInEpoch is 0 (from 1). */
  epoch: number;
  /** Batches of `epoch` already trained. */
  batchInEpoch: number;
  /** Steps trained in total. */
  step: number;
  /** The trainer's RNG now, and at the start of `epoch` (before its shuffle, to rebuild the epoch's order). */
  rngState: RngState;
  epochRngState: RngState;
  earlyStop: EarlyStopState;
  /** Step of the last validation (null: none yet). */
  lastValStep: number | null;
  runId: string | null;
  spoolKey: string | null;
  /** The trainer options the run was started with (minus the token). */
  options: Record<string, unknown>;
}

export type StopReason = 'completed' | 'max-steps' | 'early-stop' | 'stopped' | 'interrupted';

export interface LoopSetup {
  options: TrainerOptions;
  model: BicycleGAN;
  dataset: PairDataset;
  /**
   * The monitored run (status running and paused, values, images, latents, controls); finishing it is the caller's.
   * A rollback control moves training to a child run: TrainingLoop.monitor is then the run to finish.
   */
  monitor: Run | null;
  /** null: no validation (benchmarks). */
  validator: Validator | null;
  progress: Progress;
  /** Holds latest/ and best/; null: no checkpoints. */
  checkpointDir: string | null;
  runId: string | null;
  spoolKey: string | null;
  /** What the run config records about the options (kept in checkpoints). */
  recordedOptions: Record<string, unknown>;
  /** Continue from a checkpoint's state (the model already loaded). */
  resume?: LoopState;
  /** Called after every step with its metrics (benchmarks). */
  onStep?: (step: number, metrics: LoopStepMetrics) => void;
}

export interface LoopResult {
  reason: StopReason;
  message: string;
  step: number;
  stepsThisRun: number;
  /** Epochs completed. */
  epochs: number;
  elapsedMs: number;
  earlyStop: EarlyStopState;
  latestCheckpoint: string | null;
  bestCheckpoint: string | null;
  lastValidation: ValidationOutput | null;
}

/** Steps in one epoch: full batches of the training split, capped by --steps-per-epoch. */
export function stepsPerEpoch(trainLength: number, batch: number, cap: number): number {
  const full = Math.floor(trainLength / batch);
  return cap > 0 ? Math.min(cap, full) : full;
}

/** The trainer's own RNG (data order, augmentation), independent of the model's. */
export function trainerRng(seed: number): Rng {
  return new Rng(hashSeed(seed, 0xda7a));
}

/** The seed of the fixed validation z. */
export function validationSeed(seed: number): number {
  return hashSeed(seed, 0x7a11d);
}

/** Pushes a diagnosed step's norms as points and its histograms as distributions, at the step they describe. */
export function sendDiagnostics(monitor: Run, d: StepDiagnostics, step: number): void {
  monitor.log(d.points, step);
  for (const { name, histogram } of d.distributions) monitor.logDistribution({ name, step, ...histogram });
}

export class TrainingLoop {
  private readonly o: TrainerOptions;
  private readonly model: BicycleGAN;
  private readonly rng: Rng;
  private early: EarlyStopping;
  private readonly perEpoch: number;
  private epoch: number;
  private batchInEpoch: number;
  private step: number;
  private epochRngState: RngState;
  private lastValStep: number | null;
  private lastValidation: ValidationOutput | null = null;
  private readonly controls: Control[] = [];
  private wake: (() => void) | null = null;
  private paused = false;
  private stopping: { reason: StopReason; message: string } | null = null;
  private latestSaved: string | null = null;
  private bestSaved: string | null = null;
  private unsubscribe: (() => void) | null = null;
  /** The run being trained: the setup's, until a rollback moves to a child run. */
  private current: Run | null;
  private runId: string | null;
  private spoolKey: string | null;
  /** A rollback restored another position: the epoch in progress must be rebuilt from the restored state. */
  private restarted = false;

  constructor(private readonly setup: LoopSetup) {
    this.o = setup.options;
    this.current = setup.monitor;
    this.runId = setup.runId;
    this.spoolKey = setup.spoolKey;
    this.model = setup.model;
    this.perEpoch = stepsPerEpoch(setup.dataset.trainLength, this.o.batch, this.o.stepsPerEpoch);
    const r = setup.resume;
    this.rng = r ? Rng.fromState(r.rngState) : trainerRng(this.o.seed);
    this.epoch = r?.epoch ?? 1;
    this.batchInEpoch = r?.batchInEpoch ?? 0;
    this.step = r?.step ?? 0;
    this.epochRngState = r?.epochRngState ?? this.rng.getState();
    this.lastValStep = r?.lastValStep ?? null;
    this.early = new EarlyStopping(this.o.earlyStopMetric, this.o.patience, r?.earlyStop);
    if (setup.checkpointDir !== null && r?.earlyStop.best != null)
      this.bestSaved = path.join(setup.checkpointDir, 'best');
  }

  /** Ends the run at the next step boundary (SIGINT): checkpoint, status finished, no final validation. */
  requestStop(reason: StopReason = 'interrupted', message = 'interrupted'): void {
    if (!this.stopping) this.stopping = { reason, message };
    this.wake?.();
  }

  get steps(): number {
    return this.step;
  }

  /** The run now being trained (after a rollback, the child run). */
  get monitor(): Run | null {
    return this.current;
  }

  async run(): Promise<LoopResult> {
    const { progress, dataset } = this.setup;
    const monitor = this.current;
    const t0 = performance.now();
    const startStep = this.step;
    if (this.perEpoch < 1) {
      throw new Error(`the training split holds ${dataset.trainLength} items, fewer than one batch of ${this.o.batch}`);
    }
    if (monitor) {
      this.listen(monitor);
      monitor.setStatus('running');
    }
    try {
      while (!this.stopping && this.epoch <= this.o.epochs) {
        await this.trainEpoch();
        if (this.restarted) {
          this.restarted = false;
          continue;
        }
        if (this.batchInEpoch < this.perEpoch) break; // stopped inside the epoch
        await this.endEpoch();
      }
      if (!this.stopping) this.stopping = { reason: 'completed', message: `completed ${this.o.epochs} epochs` };
      await this.finish();
    } finally {
      this.unsubscribe?.();
      progress.done();
    }
    return {
      reason: this.stopping.reason,
      message: this.stopping.message,
      step: this.step,
      stepsThisRun: this.step - startStep,
      epochs: this.epoch - 1, // epoch is the one in progress, or the next to start
      elapsedMs: performance.now() - t0,
      earlyStop: this.early.state(),
      latestCheckpoint: this.latestSaved,
      bestCheckpoint: this.bestSaved,
      lastValidation: this.lastValidation,
    };
  }

  private listen(monitor: Run): void {
    this.unsubscribe = monitor.onControl((c) => {
      this.controls.push(c);
      this.wake?.();
    });
  }

  private async trainEpoch(): Promise<void> {
    const { dataset, progress } = this.setup;
    const batch = this.o.batch;
    let order: number[];
    if (this.batchInEpoch === 0) {
      this.epochRngState = this.rng.getState();
      order = this.rng.shuffle(Array.from({ length: dataset.trainLength }, (_, i) => i));
    } else {
      // Resumed inside an epoch: rebuild its order from the RNG state at its start, then continue where it was.
      const now = this.rng.getState();
      this.rng.setState(this.epochRngState);
      order = this.rng.shuffle(Array.from({ length: dataset.trainLength }, (_, i) => i));
      this.rng.setState(now);
    }
    this.model.setEpoch(this.epoch);
    while (this.batchInEpoch < this.perEpoch) {
      await this.boundary();
      if (this.stopping || this.restarted) return;
      const monitor = this.current;
      const t = performance.now();
      const indices = order.slice(this.batchInEpoch * batch, (this.batchInEpoch + 1) * batch);
      const data = await dataset.trainBatch(indices, () => this.rng.next());
      const shape: [number, number, number, number] = [data.count, data.size, data.size, data.channels];
      const a = tf.tensor4d(data.a, shape);
      const b = tf.tensor4d(data.b, shape);
      let model: StepMetrics;
      let diagnostics: StepDiagnostics | null = null;
      try {
        if (this.diagnosed(this.step + 1)) ({ metrics: model, diagnostics } = this.model.trainStepDiagnosed(a, b));
        else model = this.model.trainStep(a, b);
      } finally {
        tf.dispose([a, b]);
      }
      this.step++;
      this.batchInEpoch++;
      const ms = performance.now() - t;
      const metrics: LoopStepMetrics = {
        ...model,
        [METRIC.perfStepMs]: ms,
        [METRIC.perfImagesPerS]: data.count / (ms / 1000),
      };
      if (monitor && this.step % this.o.pushEvery === 0) monitor.log(metrics, this.step);
      if (monitor && diagnostics) sendDiagnostics(monitor, diagnostics, this.step);
      this.setup.onStep?.(this.step, metrics);
      progress.step({
        epoch: this.epoch,
        epochs: this.o.epochs,
        batch: this.batchInEpoch,
        batches: this.perEpoch,
        step: this.step,
        imagesPerSec: metrics[METRIC.perfImagesPerS],
        metrics,
      });
      if (this.o.maxSteps > 0 && this.step >= this.o.maxSteps) {
        this.requestStop('max-steps', `reached --max-steps ${this.o.maxSteps}`);
        return;
      }
    }
  }

  /** Whether step `step` (from 1) computes and pushes diagnostics (--diag-every; an unmonitored loop has no use for them). */
  private diagnosed(step: number): boolean {
    const every = this.o.diagEvery;
    return every > 0 && step % every === 0 && this.current !== null;
  }

  private async endEpoch(): Promise<void> {
    const done = this.epoch;
    const validate = this.setup.validator !== null && (done % this.o.valEvery === 0 || done === this.o.epochs);
    this.epoch++;
    this.batchInEpoch = 0;
    this.epochRngState = this.rng.getState();
    if (validate) await this.validate(done, true);
    const every = this.o.checkpointEvery;
    if (every > 0 && done % every === 0 && done < this.o.epochs && !this.stopping) await this.saveLatest();
  }

  /** The end of the run, whatever ended it: a last validation if the model changed since, and a checkpoint. */
  private async finish(): Promise<void> {
    const reason = this.stopping?.reason;
    if (reason !== 'interrupted' && this.setup.validator !== null && this.lastValStep !== this.step && this.step > 0) {
      await this.validate(this.batchInEpoch === 0 ? this.epoch - 1 : this.epoch, false);
    }
    if (this.setup.checkpointDir !== null && this.step > 0) await this.saveLatest();
    if (reason === 'early-stop' && this.bestSaved) {
      this.setup.progress.log(`early stop: the best checkpoint is kept in ${this.bestSaved}`);
    }
  }

  /** Between two steps: let the event loop run (socket I/O, timers), apply controls, wait while paused. */
  private async boundary(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.applyControls();
    while (this.paused && !this.stopping) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (this.controls.length > 0 || this.stopping) resolve();
      });
      this.wake = null;
      await this.applyControls();
    }
  }

  private async applyControls(): Promise<void> {
    const { progress } = this.setup;
    while (this.controls.length > 0) {
      const control = this.controls.shift() as Control;
      const monitor = this.current;
      const { id, ...command } = control;
      if (command.action === 'rollback') {
        await this.rollback(id, command.args);
        continue;
      }
      const outcome = applyControl(this.model, command, { step: this.step, paused: this.paused });
      let message = outcome.message;
      switch (outcome.effect) {
        case 'pause':
          this.paused = true;
          this.setStatus('paused');
          progress.paused(true);
          break;
        case 'resume':
          this.paused = false;
          this.setStatus('running');
          progress.paused(false);
          break;
        case 'stop':
          this.paused = false;
          this.requestStop('stopped', `stopped by control #${id} after step ${this.step}`);
          break;
        case 'checkpoint':
          if (this.setup.checkpointDir === null) {
            monitor?.answer(id, false, this.step, 'this run has no checkpoint folder');
            continue;
          }
          message = `saved ${await this.saveLatest()} after step ${this.step}`;
          break;
        default:
          break;
      }
      progress.log(`control #${id} ${command.action}: ${outcome.ok ? message : `refused: ${message}`}`);
      monitor?.answer(id, outcome.ok, outcome.step, message);
    }
  }

  private setStatus(status: 'running' | 'paused'): void {
    this.current?.setStatus(status);
  }

  /**
   * The rollback control: restore a checkpoint (weights, optimizers, RNGs, the position in the data, early stopping),
   * apply the control's overrides, and continue as a child run forked from this one at the checkpoint's step. The
   * checkpoint is read and checked and the child created before anything changes: a refusal leaves the run as it was.
   * The parent is answered (its result step is the fork step) and finished; controls queued behind the rollback were
   * meant for the parent's training and are refused there. The restored state is saved as the child's `latest`.
   */
  private async rollback(id: number, args: RollbackArgs): Promise<void> {
    const { progress, checkpointDir } = this.setup;
    const parent = this.current;
    const refuse = (message: string): void => {
      progress.log(`control #${id} rollback: refused: ${message}`);
      parent?.answer(id, false, this.step, message);
    };
    if (checkpointDir === null) return refuse('this run has no checkpoint folder');
    if (parent === null) return refuse('this run is not monitored');
    let source: RollbackSource;
    let child: Run;
    try {
      source = await readRollbackSource(checkpointDir, args.checkpoint);
      child = await parent.fork(source.loop.step);
    } catch (err) {
      return refuse(isGanwatchError(err) ? `${err.code}: ${err.message}` : String(err));
    }
    try {
      await importCheckpoint(source.dir, this.model, source.state);
    } catch (err) {
      await child.fail({ timeoutMs: 5_000 });
      return refuse(isGanwatchError(err) ? `${err.code}: ${err.message}` : String(err));
    }
    const from = this.step;
    const s = source.loop;
    this.restore(s);
    const changes = applyRollbackOverrides(this.model, args);
    const message =
      `restored the ${args.checkpoint} checkpoint (step ${s.step}, epoch ${s.epoch}) after step ${from}` +
      `${changes.length ? `; ${changes.join('; ')}` : ''}; training continues as run ${child.id}`;
    progress.log(`control #${id} rollback: ${message}`);
    parent.answer(id, true, s.step, message);
    this.unsubscribe?.();
    for (const c of this.controls.splice(0)) {
      parent.answer(
        c.id,
        false,
        from,
        `not applied: the run was rolled back to step ${s.step}; it continues as ${child.id}`,
      );
    }
    await parent.finish({ timeoutMs: 10_000 });
    this.current = child;
    this.runId = child.id;
    this.spoolKey = child.spoolKey;
    this.listen(child);
    child.setStatus(this.paused ? 'paused' : 'running');
    // The child's starting point, overrides included, becomes `latest`: a second rollback (another divergence) starts
    // from it, halving the already halved lrs, instead of repeating the first one.
    await this.saveLatest();
    progress.log(`run ${child.id}: ${child.url ?? child.spoolKey} (forked from ${parent.id} at step ${s.step})`);
  }

  /** Puts the loop where a checkpoint's trainer state says it was. */
  private restore(s: LoopState): void {
    this.epoch = s.epoch;
    this.batchInEpoch = s.batchInEpoch;
    this.step = s.step;
    this.rng.setState(s.rngState);
    this.epochRngState = s.epochRngState;
    this.lastValStep = s.lastValStep;
    this.early = new EarlyStopping(this.o.earlyStopMetric, this.o.patience, s.earlyStop);
    this.restarted = true;
  }

  /**
   * Validates and pushes the results. Only scheduled validations (every --val-every epochs) count for early stopping:
   * the extra one at the end of a stopped run would otherwise make a resumed run count differently.
   */
  private async validate(epoch: number, scheduled: boolean): Promise<void> {
    const { validator, progress } = this.setup;
    const monitor = this.current;
    if (!validator) return;
    const out = await validator.run(this.model);
    this.lastValidation = out;
    this.lastValStep = this.step;
    if (monitor) {
      monitor.log({ ...out.metrics, [METRIC.perfValMs]: out.ms }, this.step);
      monitor.logImage(out.png, {
        epoch,
        step: this.step,
        kind: 'samples',
        meta: { ...out.meta, epoch, step: this.step },
      });
      if (out.latents) {
        const { codes, labels, dim } = out.latents;
        // A diverged encoder gives NaN codes, which the server refuses: say so instead of ending the run on it.
        if (codes.every(Number.isFinite)) monitor.logLatents(codes, labels, epoch, { step: this.step, dim });
        else progress.log(`validation epoch ${epoch}: latent codes not pushed (the encoder's codes are not finite)`);
      }
    }
    const { improved, stop } = scheduled
      ? this.early.observe(out.metrics[this.early.metric], epoch, this.step)
      : { improved: false, stop: false };
    const shown = Object.entries(out.metrics)
      .map(([k, v]) => `${k} ${formatNumber(v)}`)
      .join('  ');
    progress.log(
      `validation epoch ${epoch} (step ${this.step}, ${(out.ms / 1000).toFixed(1)} s): ${shown}${improved ? '  (best)' : ''}`,
    );
    if (improved && this.setup.checkpointDir !== null) {
      this.bestSaved = path.join(this.setup.checkpointDir, 'best');
      await saveCheckpoint(this.bestSaved, this.model, this.extra());
    }
    if (stop && !this.stopping) {
      const s = this.early.state();
      this.requestStop(
        'early-stop',
        `early stop: ${s.metric} did not improve for ${s.sinceBest} validation checks (best ${formatNumber(s.best ?? Number.NaN)} at epoch ${s.bestEpoch}, step ${s.bestStep})`,
      );
    }
  }

  private extra(): CheckpointExtra {
    const state: LoopState = {
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      step: this.step,
      rngState: this.rng.getState(),
      epochRngState: this.epochRngState,
      earlyStop: this.early.state(),
      lastValStep: this.lastValStep,
      runId: this.runId,
      spoolKey: this.spoolKey,
      options: this.setup.recordedOptions,
    };
    return { epoch: this.epoch, step: this.step, rngState: state.rngState, trainer: state };
  }

  private async saveLatest(): Promise<string> {
    const dir = path.join(this.setup.checkpointDir as string, 'latest');
    await saveCheckpoint(dir, this.model, this.extra());
    this.latestSaved = dir;
    return dir;
  }
}
