// #/alerts — every run's alerts, open and resolved, with evidence, remedy, Apply, acknowledge and mute, live.
import { api } from '../api.js';
import { AlertsPanel } from '../components/alerts-panel.js';
import { UserRulesEditor } from '../components/user-rules-editor.js';
import { fill, h, notice } from '../dom.js';
import { live } from '../live.js';

/** Every run's alerts in one panel, kept current by live frames. */
export class AlertsView {
  private readonly names = new Map<string, string>();
  private readonly panel: AlertsPanel;
  private readonly userRules: UserRulesEditor;
  private readonly state: HTMLElement;
  private disposed = false;
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly root: HTMLElement) {
    this.panel = new AlertsPanel({
      showRun: true,
      runName: (id) => this.names.get(id) ?? id,
      emptyText: 'No alerts yet on any run.',
    });
    this.state = h('div', null, notice('loading', 'Loading alerts…'));
    this.userRules = new UserRulesEditor({ run: null, runName: (id) => this.names.get(id) ?? id });
  }

  mount(): void {
    fill(
      this.root,
      h(
        'section',
        { class: 'alerts-view', 'aria-labelledby': 'alerts-title' },
        h('div', { class: 'view-head' }, h('h2', { id: 'alerts-title', tabindex: -1 }, 'Alerts')),
        h(
          'p',
          { class: 'muted-text' },
          'Detectors watch every run for divergence, discriminator overpowering, mode collapse, gradient oscillation, colour distortion, stalls and early stopping, and for runs that hang, crash, end or slow down. “Apply” sends the remedy to the running trainer as a control.',
        ),
        this.state,
        this.panel.el,
        this.userRules.el,
      ),
    );
    const offFrame = live.onFrame((frame) => {
      if (frame.type === 'alert') this.panel.upsert(frame.alert);
      else if (frame.type === 'control') this.panel.controlUpdate(frame.control);
      else if (frame.type === 'run') this.names.set(frame.run.id, frame.run.name);
      else if (frame.type === 'run_deleted') this.panel.removeRun(frame.run);
    });
    live.want('alerts-view', ['*']);
    void live.ready(['*']).then(() => this.load());
    const offReopen = live.onReopen(() => void this.load());
    this.unsubscribe = [offFrame, offReopen];
  }

  dispose(): void {
    this.disposed = true;
    for (const off of this.unsubscribe) off();
    live.want('alerts-view', []);
  }

  private async load(): Promise<void> {
    try {
      const [runs, alerts] = await Promise.all([api.runs(), api.alerts({ limit: 2000 })]);
      if (this.disposed) return;
      for (const r of runs) this.names.set(r.id, r.name);
      this.panel.setAlerts(alerts);
      this.state.replaceChildren();
      void this.userRules.load();
    } catch (err) {
      fill(this.state, notice('error', `Could not load the alerts: ${(err as Error).message}`));
    }
  }
}
