// Trainers that poll for controls over HTTP (clients without a WebSocket, e.g. Python's standard library): a long poll
// per trainer, woken the moment a control is issued, and the presence it gives. A polling trainer counts as connected
// (TrainerRegistry) while a poll is open and for `timeoutMs` after one was answered; when the trainer's connection
// closes under an open poll (the process died) or no new poll comes in time, the run becomes `disconnected` exactly as
// when an ingest socket closes.
import type { Control } from '../../protocol/index.js';
import type { RunRef } from '../../db/store.js';
import type { ServerContext } from '../context.js';
import { trainerConnected, trainerGone } from './gaps.js';
import type { TrainerSocket } from './trainers.js';

/** Default: how long after its last answered poll an HTTP trainer still counts as connected. */
export const DEFAULT_TRAINER_TIMEOUT_MS = 10_000;

/** One run's polling trainer, registered with the TrainerRegistry like an ingest socket. */
class PollingTrainer implements TrainerSocket {
  readonly waiters = new Set<() => void>();
  openPolls = 0;
  timer: NodeJS.Timeout | null = null;

  /** Called by the registry when a control is issued for the run: wake every open poll to answer it. */
  send(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

export class PollingTrainers {
  private readonly byRun = new Map<string, PollingTrainer>();
  private closing = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly timeoutMs: number = DEFAULT_TRAINER_TIMEOUT_MS,
  ) {}

  /**
   * Answers one poll: the run's unanswered controls with ids above `after`, waiting up to `waitMs` for one to be
   * issued. `aborted` fires when the trainer's connection closes before the answer (the trainer is gone).
   */
  async poll(run: RunRef, after: number, waitMs: number, aborted: AbortSignal): Promise<Control[]> {
    const trainer = await this.arrive(run);
    let controls = await this.ctx.controls.unansweredAfter(run, after);
    if (controls.length === 0 && waitMs > 0 && !this.closing && !aborted.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          aborted.removeEventListener('abort', done);
          trainer.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        aborted.addEventListener('abort', done);
        trainer.waiters.add(done);
      });
      controls = aborted.aborted ? [] : await this.ctx.controls.unansweredAfter(run, after);
    }
    this.leave(run, trainer, aborted.aborted);
    return controls;
  }

  /** Answers every open poll now (the server is closing: nothing may hold up its shutdown). */
  closeAll(): void {
    this.closing = true;
    for (const trainer of this.byRun.values()) {
      trainer.send();
      if (trainer.timer) clearTimeout(trainer.timer);
    }
  }

  private async arrive(run: RunRef): Promise<PollingTrainer> {
    let trainer = this.byRun.get(run.id);
    if (!trainer) {
      trainer = new PollingTrainer();
      this.byRun.set(run.id, trainer);
      this.ctx.trainers.attach(run.id, trainer);
      await trainerConnected(this.ctx, run);
      await this.ctx.controls.deliverPending(run);
    }
    if (trainer.timer) clearTimeout(trainer.timer);
    trainer.timer = null;
    trainer.openPolls++;
    return trainer;
  }

  private leave(run: RunRef, trainer: PollingTrainer, aborted: boolean): void {
    trainer.openPolls--;
    if (trainer.openPolls > 0 || this.closing) return;
    if (aborted) return this.gone(run, trainer);
    trainer.timer = setTimeout(() => this.gone(run, trainer), this.timeoutMs);
    trainer.timer.unref();
  }

  private gone(run: RunRef, trainer: PollingTrainer): void {
    if (this.byRun.get(run.id) !== trainer || trainer.openPolls > 0) return;
    if (trainer.timer) clearTimeout(trainer.timer);
    this.byRun.delete(run.id);
    trainerGone(this.ctx, run, trainer).catch((err: unknown) =>
      this.ctx.log(`polling trainer of run ${run.id} gone`, err),
    );
  }
}
