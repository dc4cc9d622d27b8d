// Issuing controls to trainers: store, deliver now if the trainer is connected here (else through the server it is
// connected to, or on its next connect), record results.
import type { Control, ControlCommand } from '../../protocol/index.js';
import type { RunRef, Store } from '../../db/store.js';
import type { LiveHub } from './live-hub.js';
import type { TrainerRegistry } from './trainers.js';

export class ControlService {
  private readonly resultListeners: Array<(control: Control) => Promise<void> | void> = [];
  /** Told of a control issued while the run's trainer is not connected here (it may be connected to another server). */
  onUndelivered: ((run: RunRef, control: Control) => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly hub: LiveHub,
    private readonly trainers: TrainerRegistry,
  ) {}

  async issue(run: RunRef, command: ControlCommand, source: string): Promise<Control> {
    return this.deliver(run, await this.store.controls.create(run.rid, command, source));
  }

  /** Sends every unanswered control of the run (called when its trainer connects). */
  async deliverPending(run: RunRef): Promise<void> {
    for (const control of await this.store.controls.unanswered(run.rid)) await this.deliver(run, control);
  }

  /** A control issued on another server: delivered if the run's trainer is connected here and it is still pending. */
  async deliverIssuedElsewhere(runId: string, controlId: number): Promise<void> {
    if (!this.trainers.connected(runId)) return;
    const run = await this.store.runs.ref(runId);
    const control = await this.store.controls.get(controlId);
    if (run && control?.status === 'pending') await this.deliver(run, control);
  }

  /** Delivers the run's controls that are still pending, if its trainer is connected here (notices may have been lost). */
  async deliverStillPending(runId: string): Promise<void> {
    if (!this.trainers.connected(runId)) return;
    const run = await this.store.runs.ref(runId);
    if (!run) return;
    for (const control of await this.store.controls.unanswered(run.rid))
      if (control.status === 'pending') await this.deliver(run, control);
  }

  /**
   * The run's unanswered controls with ids above `after`, for a trainer polling over HTTP; pending ones become sent,
   * as the socket path marks them when it hands them over.
   */
  async unansweredAfter(run: RunRef, after: number): Promise<Control[]> {
    const out: Control[] = [];
    for (const control of await this.store.controls.unanswered(run.rid)) {
      if (control.id <= after) continue;
      if (control.status !== 'pending') {
        out.push(control);
        continue;
      }
      await this.store.controls.markSent(control.id);
      const stored = (await this.store.controls.get(control.id))!;
      this.hub.publish(run.id, { type: 'control', run: run.id, control: stored });
      out.push(stored);
    }
    return out;
  }

  async recordResult(
    run: RunRef,
    id: number,
    ok: boolean,
    step: number | null,
    message: string | null,
  ): Promise<Control | null> {
    const control = await this.store.controls.recordResult(run.rid, id, ok, step, message);
    if (control) {
      this.hub.publish(run.id, { type: 'control', run: run.id, control });
      for (const listener of this.resultListeners) await listener(control);
    }
    return control;
  }

  /** Calls `listener` whenever a trainer answers a control. */
  onResult(listener: (control: Control) => Promise<void> | void): void {
    this.resultListeners.push(listener);
  }

  /** Sends the control to the run's trainer if one is connected, tells the live hub, and returns it as now stored. */
  private async deliver(run: RunRef, control: Control): Promise<Control> {
    const sent = this.trainers.sendControl(run.id, {
      type: 'control',
      id: control.id,
      action: control.action,
      args: control.args,
    });
    if (sent) await this.store.controls.markSent(control.id);
    else this.onUndelivered?.(run, control);
    const stored = (await this.store.controls.get(control.id)) ?? control;
    this.hub.publish(run.id, { type: 'control', run: run.id, control: stored });
    return stored;
  }
}
