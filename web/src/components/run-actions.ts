// Pause / Resume / Stop in a run's header, each after a confirmation: the controls worth reaching at once (from a
// phone too) without the controls form. The result arrives as a control, shown in the controls panel.
import type { Control, ControlCommand, RunStatus } from '../../../protocol/index.js';
import { api } from '../api.js';
import { h } from '../dom.js';
import { confirmAction, type ConfirmOptions } from './confirm-dialog.js';
import { newerControl } from './controls-panel.js';

type QuickAction = 'pause' | 'resume' | 'stop';

const ASK: Record<QuickAction, (name: string) => ConfirmOptions> = {
  pause: (name) => ({
    title: `Pause ${name}?`,
    text: 'The trainer pauses after its current step and waits for Resume. Nothing is lost.',
    confirm: 'Pause the run',
  }),
  resume: (name) => ({
    title: `Resume ${name}?`,
    text: 'The trainer continues from the step where it paused.',
    confirm: 'Resume the run',
  }),
  stop: (name) => ({
    title: `Stop ${name}?`,
    text: 'The trainer finishes its current step and exits. Training cannot be resumed from this page.',
    confirm: 'Stop the run',
    danger: true,
  }),
};

/** Runs that still train (or may again): the others have no trainer to send to. */
const ACTIVE: ReadonlySet<RunStatus> = new Set(['running', 'paused', 'disconnected']);

export class RunActions {
  readonly el: HTMLElement;
  private readonly buttons: Record<QuickAction, HTMLButtonElement>;
  private readonly status: HTMLElement;
  private busy = false;
  /** The control sent last from here, whose progress the status line follows. */
  private sent: Control | null = null;
  private readonly seen = new Map<number, Control>();
  private runStatus: RunStatus = 'running';

  constructor(
    private readonly runId: string,
    private readonly runName: () => string,
    private readonly onIssued: (control: Control) => void,
  ) {
    const button = (action: QuickAction, text: string, cls = ''): HTMLButtonElement =>
      h('button', { type: 'button', class: cls, 'data-action': action, onclick: () => void this.ask(action) }, text);
    this.buttons = {
      pause: button('pause', '❚❚ Pause'),
      resume: button('resume', '▶ Resume'),
      stop: button('stop', '■ Stop', 'danger'),
    };
    this.status = h('span', { class: 'run-actions-status', role: 'status', 'aria-live': 'polite' });
    this.el = h(
      'div',
      { class: 'run-actions', role: 'group', 'aria-label': 'Act on the trainer' },
      this.buttons.pause,
      this.buttons.resume,
      this.buttons.stop,
      this.status,
    );
    this.paint();
  }

  /** A control's progress (live frame): the status line follows the one sent from here. */
  controlUpdate(control: Control): void {
    const known = this.seen.get(control.id);
    const latest = known ? newerControl(known, control) : control;
    this.seen.set(control.id, latest);
    if (this.sent?.id === control.id) this.paintSent(latest);
  }

  /** The trainer may answer before the HTTP answer arrives: the later of the two states is shown. */
  private paintSent(control: Control): void {
    this.sent = control;
    const at = control.result_step !== null ? ` at step ${control.result_step}` : '';
    this.status.className = `run-actions-status control-${control.status}`;
    this.status.textContent = `${control.action}: ${control.status}${at}${control.message ? ` (${control.message})` : ''}`;
  }

  setStatus(status: RunStatus): void {
    this.runStatus = status;
    this.paint();
  }

  private paint(): void {
    const active = ACTIVE.has(this.runStatus);
    this.buttons.pause.hidden = this.runStatus === 'paused';
    this.buttons.resume.hidden = this.runStatus !== 'paused';
    for (const b of Object.values(this.buttons)) {
      b.disabled = this.busy || !active;
      b.title = active ? '' : `The run is ${this.runStatus}: there is no trainer to send to`;
    }
  }

  private async ask(action: QuickAction): Promise<void> {
    if (!(await confirmAction(ASK[action](this.runName())))) return;
    const command: ControlCommand = { action, args: {} };
    this.busy = true;
    this.paint();
    this.status.className = 'run-actions-status';
    this.status.textContent = 'Sending…';
    try {
      const control = await api.issueControl(this.runId, command);
      this.onIssued(control);
      this.controlUpdate(control);
      this.paintSent(this.seen.get(control.id)!);
    } catch (err) {
      this.status.className = 'run-actions-status notice-error';
      this.status.textContent = `Not sent: ${(err as Error).message}`;
    } finally {
      this.busy = false;
      this.paint();
    }
  }
}
