// Issuing controls to trainers: store, deliver now if the trainer is connected (else on its next connect), record results.
import type { Control, ControlCommand } from '../protocol/index.js';
import type { RunRef, Store } from '../db/store.js';
import type { LiveHub } from './hub.js';
import type { TrainerRegistry } from './trainers.js';

export class ControlService {
  private readonly resultListeners: Array<(control: Control) => void> = [];

  constructor(
    private readonly store: Store,
    private readonly hub: LiveHub,
    private readonly trainers: TrainerRegistry,
  ) {}

  issue(run: RunRef, command: ControlCommand, source: string): Control {
    return this.deliver(run, this.store.controls.create(run.rid, command, source));
  }

  /** Sends every unanswered control of the run (called when its trainer connects). */
  deliverPending(run: RunRef): void {
    for (const control of this.store.controls.unanswered(run.rid)) this.deliver(run, control);
  }

  /**
   * The run's unanswered controls with ids above `after`, for a trainer polling over HTTP; pending ones become sent,
   * as the socket path marks them when it hands them over.
   */
  unansweredAfter(run: RunRef, after: number): Control[] {
    return this.store.controls.unanswered(run.rid).flatMap((control) => {
      if (control.id <= after) return [];
      if (control.status !== 'pending') return [control];
      this.store.controls.markSent(control.id);
      const stored = this.store.controls.get(control.id)!;
      this.hub.publish(run.id, { type: 'control', run: run.id, control: stored });
      return [stored];
    });
  }

  recordResult(run: RunRef, id: number, ok: boolean, step: number | null, message: string | null): Control | null {
    const control = this.store.controls.recordResult(run.rid, id, ok, step, message);
    if (control) {
      this.hub.publish(run.id, { type: 'control', run: run.id, control });
      for (const listener of this.resultListeners) listener(control);
    }
    return control;
  }

  /** Calls `listener` whenever a trainer answers a control. */
  onResult(listener: (control: Control) => void): void {
    this.resultListeners.push(listener);
  }

  /** Sends the control to the run's trainer if one is connected, tells the live hub, and returns it as now stored. */
  private deliver(run: RunRef, control: Control): Control {
    const sent = this.trainers.sendControl(run.id, {
      type: 'control',
      id: control.id,
      action: control.action,
      args: control.args,
    });
    if (sent) this.store.controls.markSent(control.id);
    const stored = this.store.controls.get(control.id)!;
    this.hub.publish(run.id, { type: 'control', run: run.id, control: stored });
    return stored;
  }
}
