// Controls sent to a run's trainer (by hand, by an alert's remedy, or auto-applied) with their results, and a form
// to send one: set or scale a learning rate or a λ, gradient clipping, pause / resume / stop / checkpoint, and a
// rollback to a checkpoint (the run continues as a child run).
import type { Control, ControlCommand } from '../../../protocol/index.js';
import { api } from '../api.js';
import { h, notice, uid } from '../dom.js';
import { confirmAction } from './confirm-dialog.js';
import { fmtAge, fmtAny } from '../format.js';

type Field = 'net' | 'lambda' | 'value' | 'factor' | 'max_norm' | 'checkpoint';

const ACTIONS: Record<ControlCommand['action'], { label: string; fields: Field[] }> = {
  set_lr: { label: 'Set learning rate', fields: ['net', 'value'] },
  scale_lr: { label: 'Scale learning rate', fields: ['net', 'factor'] },
  set_lambda: { label: 'Set λ', fields: ['lambda', 'value'] },
  scale_lambda: { label: 'Scale λ', fields: ['lambda', 'factor'] },
  set_clip: { label: 'Gradient clipping (0 = off)', fields: ['max_norm'] },
  pause: { label: 'Pause', fields: [] },
  resume: { label: 'Resume', fields: [] },
  stop: { label: 'Stop', fields: [] },
  checkpoint: { label: 'Save a checkpoint', fields: [] },
  rollback: { label: 'Roll back to a checkpoint, lrs × factor', fields: ['checkpoint', 'factor'] },
};

const CONTROL_RANK: Record<Control['status'], number> = { pending: 0, sent: 1, applied: 2, failed: 2 };

/** The later of two states of one control: live frames and HTTP answers can arrive in either order. */
export function newerControl(a: Control, b: Control): Control {
  const ra = CONTROL_RANK[a.status];
  const rb = CONTROL_RANK[b.status];
  return rb > ra || (rb === ra && (b.result_at ?? 0) > (a.result_at ?? 0)) ? b : a;
}

export class ControlsPanel {
  readonly el: HTMLElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly table: HTMLTableElement;
  private readonly empty: HTMLElement;
  private readonly connected: HTMLElement;
  private readonly formStatus: HTMLElement;
  private controls = new Map<number, Control>();

  constructor(private readonly runId: string) {
    this.tbody = h('tbody');
    this.table = h(
      'table',
      { class: 'data controls-table' },
      h('caption', { class: 'visually-hidden' }, 'Controls issued to this run'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['#', 'Command', 'Source', 'Status', 'Result', 'Issued'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      this.tbody,
    );
    this.empty = notice('empty', 'No controls issued yet.');
    this.connected = h('p', { class: 'trainer-connection' });
    this.formStatus = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
    this.el = h(
      'div',
      { class: 'controls-panel' },
      this.form(),
      this.connected,
      this.empty,
      h('div', { class: 'table-scroll' }, this.table),
    );
    this.render();
  }

  setControls(controls: readonly Control[], trainerConnected?: boolean): void {
    this.controls = new Map(controls.map((c) => [c.id, c]));
    if (trainerConnected !== undefined) {
      this.connected.textContent = trainerConnected
        ? 'Trainer connected: controls are applied at its next step boundary.'
        : 'Trainer not connected: controls wait until it reconnects.';
      this.connected.className = `trainer-connection ${trainerConnected ? 'ok' : 'warn'}`;
    }
    this.render();
  }

  upsert(control: Control): void {
    const known = this.controls.get(control.id);
    this.controls.set(control.id, known ? newerControl(known, control) : control);
    this.render();
  }

  private render(): void {
    const rows = [...this.controls.values()].sort((a, b) => b.id - a.id);
    this.empty.hidden = rows.length > 0;
    this.table.hidden = rows.length === 0;
    this.tbody.replaceChildren(
      ...rows.map((c) =>
        h(
          'tr',
          { 'data-control': c.id },
          h('td', null, String(c.id)),
          h(
            'td',
            null,
            h(
              'code',
              null,
              `${c.action}(${Object.entries(c.args)
                .map(([k, v]) => `${k}=${fmtAny(v)}`)
                .join(', ')})`,
            ),
          ),
          h('td', null, c.source),
          h('td', null, h('span', { class: `control-chip control-${c.status}` }, c.status)),
          h(
            'td',
            null,
            [c.result_step !== null ? `step ${c.result_step}` : '', c.message ?? ''].filter(Boolean).join(': ') || '–',
          ),
          h('td', null, fmtAge(c.created_at)),
        ),
      ),
    );
  }

  private form(): HTMLElement {
    const ids = {
      action: uid('ctl-action'),
      net: uid('ctl-net'),
      lambda: uid('ctl-lambda'),
      value: uid('ctl-value'),
      factor: uid('ctl-factor'),
      max: uid('ctl-max'),
      checkpoint: uid('ctl-checkpoint'),
    };
    const action = h(
      'select',
      { id: ids.action, name: 'action' },
      Object.entries(ACTIONS).map(([a, d]) => h('option', { value: a }, `${d.label} (${a})`)),
    );
    const net = h(
      'select',
      { id: ids.net, name: 'net' },
      ['G', 'E', 'D', 'D2'].map((n) => h('option', { value: n }, n === 'D' ? 'D (and D2)' : n)),
    );
    net.value = 'D';
    const lambda = h(
      'select',
      { id: ids.lambda, name: 'lambda' },
      ['adv', 'cyc', 'latent', 'kl'].map((n) => h('option', { value: n }, `λ_${n}`)),
    );
    const value = h('input', {
      id: ids.value,
      name: 'value',
      type: 'number',
      step: 'any',
      min: 0,
      required: true,
      value: '0.0001',
      inputmode: 'decimal',
    });
    const factor = h('input', {
      id: ids.factor,
      name: 'factor',
      type: 'number',
      step: 'any',
      min: 0,
      required: true,
      value: '0.5',
      inputmode: 'decimal',
    });
    const maxNorm = h('input', {
      id: ids.max,
      name: 'max_norm',
      type: 'number',
      step: 'any',
      min: 0,
      required: true,
      value: '1',
      inputmode: 'decimal',
    });
    const checkpoint = h(
      'select',
      { id: ids.checkpoint, name: 'checkpoint' },
      h('option', { value: 'latest' }, 'latest'),
      h('option', { value: 'best' }, 'best'),
    );
    const fields: Record<Field, HTMLElement> = {
      checkpoint: h('span', { class: 'field' }, h('label', { for: ids.checkpoint }, 'Checkpoint'), checkpoint),
      net: h('span', { class: 'field' }, h('label', { for: ids.net }, 'Network'), net),
      lambda: h('span', { class: 'field' }, h('label', { for: ids.lambda }, 'Weight'), lambda),
      value: h('span', { class: 'field' }, h('label', { for: ids.value }, 'Value'), value),
      factor: h('span', { class: 'field' }, h('label', { for: ids.factor }, 'Factor'), factor),
      max_norm: h('span', { class: 'field' }, h('label', { for: ids.max }, 'Max norm'), maxNorm),
    };
    const sync = (): void => {
      const wanted = ACTIONS[action.value as ControlCommand['action']].fields;
      for (const [name, el] of Object.entries(fields)) {
        const on = wanted.includes(name as Field);
        el.hidden = !on;
        el.querySelectorAll('input,select').forEach((i) => ((i as HTMLInputElement).disabled = !on));
      }
    };
    action.addEventListener('change', sync);
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Send to trainer');
    const form = h(
      'form',
      { class: 'control-form', 'aria-label': 'Send a control to the trainer' },
      h('span', { class: 'field' }, h('label', { for: ids.action }, 'Command'), action),
      Object.values(fields),
      submit,
      this.formStatus,
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const a = action.value as ControlCommand['action'];
      const num = (input: HTMLInputElement): number => Number(input.value);
      let command: ControlCommand;
      switch (a) {
        case 'set_lr':
          command = { action: a, args: { net: net.value as 'D', value: num(value) } };
          break;
        case 'scale_lr':
          command = { action: a, args: { net: net.value as 'D', factor: num(factor) } };
          break;
        case 'set_lambda':
          command = { action: a, args: { name: lambda.value as 'adv', value: num(value) } };
          break;
        case 'scale_lambda':
          command = { action: a, args: { name: lambda.value as 'adv', factor: num(factor) } };
          break;
        case 'set_clip':
          command = { action: a, args: { max_norm: num(maxNorm) } };
          break;
        case 'rollback':
          command = { action: a, args: { checkpoint: checkpoint.value as 'latest', lr_factor: num(factor) } };
          break;
        default:
          command = { action: a, args: {} };
      }
      void this.send(a, command, submit);
    });
    sync();
    return form;
  }

  /** Sends `command`; pause and stop ask first, as the header's buttons do. */
  private async send(a: ControlCommand['action'], command: ControlCommand, submit: HTMLButtonElement): Promise<void> {
    if (a === 'rollback') {
      const confirmed = await confirmAction({
        title: 'Roll this run back?',
        text: 'The trainer restores its checkpoint; training continues as a new child run.',
        confirm: 'Roll back',
      });
      if (!confirmed) return;
    }
    if (a === 'stop' || a === 'pause') {
      const stop = a === 'stop';
      const confirmed = await confirmAction({
        title: stop ? 'Stop this run?' : 'Pause this run?',
        text: stop
          ? 'The trainer finishes its current step and exits.'
          : 'The trainer pauses after its current step and waits for Resume.',
        confirm: stop ? 'Stop the run' : 'Pause the run',
        danger: stop,
      });
      if (!confirmed) return;
    }
    submit.disabled = true;
    this.formStatus.className = 'form-status';
    this.formStatus.textContent = 'Sending…';
    api
      .issueControl(this.runId, command)
      .then((c) => {
        this.upsert(c);
        this.formStatus.textContent = `Control #${c.id} ${c.status}.`;
      })
      .catch((err: Error) => {
        this.formStatus.className = 'form-status notice-error';
        this.formStatus.textContent = `Not sent: ${err.message}`;
      })
      .finally(() => (submit.disabled = false));
  }
}
