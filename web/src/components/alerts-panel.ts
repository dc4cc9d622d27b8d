// Alerts: open and resolved, each with its evidence, the remedy, Apply (sends the remedy as a control and follows its
// result live), acknowledge and mute. Used on the run page and in the global #/alerts view.
import type { Alert, Control } from '../../../protocol/index.js';
import { api } from '../api.js';
import { confirmAction } from './confirm-dialog.js';
import { newerControl } from './controls-panel.js';
import { h, kvTable, notice, uid } from '../dom.js';
import { fmtAge, fmtAny } from '../format.js';
import { hrefFor } from '../router.js';
import { SEVERITY_RANK, severityBadge } from './status-badge.js';

type Filter = 'firing' | 'resolved' | 'all';

export interface AlertsPanelOptions {
  /** Show which run each alert belongs to (the global view). */
  showRun: boolean;
  runName?: (id: string) => string;
  /** Shown when there is no alert at all. */
  emptyText?: string;
}

export function describeControl(c: Control): string {
  const args = Object.entries(c.args)
    .map(([k, v]) => `${k}=${fmtAny(v)}`)
    .join(', ');
  const result =
    c.status === 'applied' || c.status === 'failed'
      ? `${c.status}${c.result_step !== null ? ` at step ${c.result_step}` : ''}`
      : c.status;
  return `${c.action}(${args}) — ${result}${c.message ? `: ${c.message}` : ''}`;
}

export class AlertsPanel {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly tabs: Record<Filter, HTMLButtonElement>;
  private readonly live: HTMLElement;
  private alerts = new Map<number, Alert>();
  private filter: Filter = 'firing';
  private readonly busy = new Set<number>();
  private readonly errors = new Map<number, string>();
  private readonly evidenceOpen = new Map<number, boolean>();
  /**
   * Alerts a remedy was applied to from this panel: they stay in view under the current filter even once they
   * resolve (a rollback resolves its alert), so the trainer's answer is seen where the user asked; changing the
   * filter lets them go.
   */
  private readonly kept = new Set<number>();
  /** Latest state of every control seen, so an alert that arrives after its control's result still shows it. */
  private readonly controls = new Map<number, Control>();
  private readonly changeListeners = new Set<(alerts: Alert[]) => void>();

  constructor(private readonly options: AlertsPanelOptions) {
    this.list = h('div', { class: 'alert-list' });
    this.live = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
    const tab = (f: Filter, text: string): HTMLButtonElement =>
      h(
        'button',
        {
          type: 'button',
          class: 'tab',
          'aria-pressed': String(f === this.filter),
          'data-filter': f,
          onclick: () => this.setFilter(f),
        },
        text,
      );
    this.tabs = { firing: tab('firing', 'Open'), resolved: tab('resolved', 'Resolved'), all: tab('all', 'All') };
    this.el = h(
      'div',
      { class: 'alerts-panel' },
      h(
        'div',
        { class: 'tabs', role: 'group', 'aria-label': 'Which alerts' },
        this.tabs.firing,
        this.tabs.resolved,
        this.tabs.all,
      ),
      this.list,
      this.live,
    );
    this.render();
  }

  setAlerts(alerts: readonly Alert[]): void {
    this.alerts = new Map(alerts.map((a) => [a.id, this.withLatestControl(a)]));
    this.render();
  }

  /**
   * Keeps the newer of what is known and what arrived: an action's answer can arrive after a live frame that
   * already moved the alert on (Apply's answer after the rollback it sent resolved the alert), and a resolved
   * alert never fires again (a new firing is a new alert).
   */
  private keepNewer(incoming: Alert): Alert {
    const known = this.alerts.get(incoming.id);
    const stale =
      known !== undefined &&
      (incoming.updated_at < known.updated_at || (known.state === 'resolved' && incoming.state !== 'resolved'));
    const alert = this.withLatestControl(stale ? known : incoming);
    this.alerts.set(alert.id, alert);
    return alert;
  }

  private withLatestControl(a: Alert): Alert {
    if (!a.control) return a;
    const known = this.controls.get(a.control.id);
    const control = known ? newerControl(a.control, known) : a.control;
    this.controls.set(control.id, control);
    return control === a.control ? a : { ...a, control };
  }

  /** A new or changed alert (live frame or an action's answer). */
  upsert(incoming: Alert): void {
    const before = this.alerts.get(incoming.id);
    const alert = this.keepNewer(incoming);
    if (!before && alert.state === 'firing')
      this.live.textContent = `New ${alert.severity} alert: ${alert.rule}. ${alert.message}`;
    this.render();
  }

  /** A control's progress (live frame): updates the alert that sent it. */
  controlUpdate(incoming: Control): void {
    const known = this.controls.get(incoming.id);
    const control = known ? newerControl(known, incoming) : incoming;
    this.controls.set(control.id, control);
    let changed = false;
    for (const a of this.alerts.values()) {
      if (a.control?.id === control.id && a.control !== control) {
        this.alerts.set(a.id, { ...a, control });
        changed = true;
        this.live.textContent = `Remedy for ${a.rule}: ${control.status}${control.message ? `, ${control.message}` : ''}`;
      }
    }
    if (changed) this.render();
  }

  removeRun(run: string): void {
    for (const [id, a] of this.alerts) if (a.run === run) this.alerts.delete(id);
    this.render();
  }

  all(): Alert[] {
    return [...this.alerts.values()];
  }

  onChange(fn: (alerts: Alert[]) => void): void {
    this.changeListeners.add(fn);
  }

  setFilter(filter: Filter): void {
    this.filter = filter;
    this.kept.clear();
    for (const [f, b] of Object.entries(this.tabs)) b.setAttribute('aria-pressed', String(f === filter));
    this.render();
  }

  private render(): void {
    const all = [...this.alerts.values()];
    const firing = all.filter((a) => a.state === 'firing').length;
    this.tabs.firing.textContent = `Open (${firing})`;
    this.tabs.resolved.textContent = `Resolved (${all.length - firing})`;
    this.tabs.all.textContent = `All (${all.length})`;
    const shown = all
      .filter((a) => this.filter === 'all' || a.state === this.filter || this.kept.has(a.id))
      .sort(
        (a, b) =>
          Number(b.state === 'firing') - Number(a.state === 'firing') ||
          SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
          b.updated_at - a.updated_at,
      );
    // Keep keyboard focus on the same button across re-renders.
    const focused =
      document.activeElement instanceof HTMLElement && this.list.contains(document.activeElement)
        ? document.activeElement.dataset.focusKey
        : undefined;
    if (shown.length === 0) {
      const text =
        all.length === 0
          ? (this.options.emptyText ?? 'No alerts.')
          : this.filter === 'firing'
            ? 'No open alerts.'
            : 'No resolved alerts.';
      this.list.replaceChildren(notice('empty', text));
    } else {
      this.list.replaceChildren(...shown.map((a) => this.card(a)));
    }
    if (focused) this.list.querySelector<HTMLElement>(`[data-focus-key="${focused}"]`)?.focus();
    for (const fn of this.changeListeners) fn(all);
  }

  private card(a: Alert): HTMLElement {
    const titleId = uid('alert');
    const when =
      a.state === 'firing' ? `firing since step ${a.step_opened ?? '?'}` : `resolved at step ${a.step_closed ?? '?'}`;
    const time = a.state === 'firing' ? (a.firing_at ?? a.created_at) : (a.resolved_at ?? a.updated_at);
    const evidence = Object.entries(a.evidence).map(([k, v]) => [k, fmtAny(v)] as [string, string]);
    const action = a.remedy?.action ?? null;
    const busy = this.busy.has(a.id);
    const error = this.errors.get(a.id);
    const control = a.control;
    const applyLabel = control ? 'Apply again' : 'Apply';
    const command = action
      ? `${action.action}${
          Object.keys(action.args).length
            ? `(${Object.entries(action.args)
                .map(([k, v]) => `${k}=${fmtAny(v)}`)
                .join(', ')})`
            : ''
        }`
      : '';
    const applyBtn = action
      ? h(
          'button',
          {
            type: 'button',
            class: 'primary',
            'data-focus-key': `apply-${a.id}`,
            disabled: busy,
            'aria-describedby': titleId,
            onclick: () => void this.apply(a, command),
          },
          `${applyLabel}: ${command}`,
        )
      : null;
    return h(
      'article',
      {
        class: `alert-card alert-${a.severity} state-${a.state}${a.muted ? ' muted' : ''}`,
        'aria-labelledby': titleId,
        'data-alert': a.id,
      },
      h(
        'header',
        null,
        severityBadge(a.severity),
        h('h4', { id: titleId }, `${a.rule}${a.key ? ` (${a.key})` : ''}`),
        this.options.showRun
          ? h(
              'a',
              { href: hrefFor({ view: 'run', id: a.run }), class: 'alert-run' },
              this.options.runName?.(a.run) ?? a.run,
            )
          : null,
        h('span', { class: 'alert-when' }, `${when} · ${fmtAge(time)}`),
        a.acknowledged ? h('span', { class: 'pill' }, 'acknowledged') : null,
        a.muted ? h('span', { class: 'pill' }, 'muted') : null,
      ),
      h('p', { class: 'alert-message' }, a.message),
      evidence.length ? this.evidence(a, evidence) : null,
      a.remedy
        ? h(
            'div',
            { class: 'remedy' },
            h('h5', null, 'Remedy'),
            h('p', null, a.remedy.text),
            applyBtn,
            control
              ? h(
                  'p',
                  { class: `control-status control-${control.status}`, role: 'status', 'data-control': control.id },
                  `Control #${control.id}: ${describeControl(control)}`,
                )
              : null,
          )
        : null,
      error ? h('p', { class: 'notice notice-error', role: 'alert' }, error) : null,
      h(
        'footer',
        null,
        a.acknowledged
          ? null
          : h(
              'button',
              {
                type: 'button',
                'data-focus-key': `ack-${a.id}`,
                disabled: busy,
                onclick: () => void this.act(a.id, () => api.ackAlert(a.id)),
              },
              'Acknowledge',
            ),
        h(
          'button',
          {
            type: 'button',
            'data-focus-key': `mute-${a.id}`,
            'aria-pressed': String(a.muted),
            disabled: busy,
            onclick: () => void this.act(a.id, () => api.muteAlert(a.id, !a.muted)),
          },
          a.muted ? 'Unmute' : 'Mute',
        ),
      ),
    );
  }

  /** Evidence starts open on open alerts and closed on resolved ones; a user's choice survives live re-renders. */
  private evidence(a: Alert, rows: Array<[string, string]>): HTMLElement {
    const open = this.evidenceOpen.get(a.id) ?? a.state === 'firing';
    const el = h(
      'details',
      { class: 'evidence', open },
      h('summary', null, `Evidence (${rows.length})`),
      kvTable(rows),
    );
    el.addEventListener('toggle', () => this.evidenceOpen.set(a.id, el.open));
    return el;
  }

  /** Apply, once confirmed: it changes a training run. */
  private async apply(a: Alert, command: string): Promise<void> {
    const run = this.options.showRun ? ` of ${this.options.runName?.(a.run) ?? a.run}` : '';
    const confirmed = await confirmAction({
      title: `Apply the remedy for ${a.rule}?`,
      text: `Sends ${command} to the trainer${run}; it takes effect at the trainer's next step.`,
      confirm: 'Apply the remedy',
    });
    if (!confirmed) return;
    this.kept.add(a.id);
    await this.act(a.id, () => api.applyAlert(a.id).then((r) => r.alert));
  }

  private async act(id: number, fn: () => Promise<Alert>): Promise<void> {
    this.busy.add(id);
    this.errors.delete(id);
    this.render();
    try {
      this.keepNewer(await fn());
    } catch (err) {
      this.errors.set(id, (err as Error).message);
    } finally {
      this.busy.delete(id);
      this.render();
    }
  }
}
