// #/alerts — every run's alerts, open and resolved, with evidence, remedy, Apply, acknowledge and mute, live.
import { api } from '../api.js';
import { AlertsPanel } from '../components/alerts-panel.js';
import { fill, h, notice } from '../dom.js';
import { live } from '../live.js';

export function mountAlertsView(root: HTMLElement): () => void {
  const names = new Map<string, string>();
  const panel = new AlertsPanel({
    showRun: true,
    runName: (id) => names.get(id) ?? id,
    emptyText: 'No alerts yet on any run.',
  });
  const state = h('div', null, notice('loading', 'Loading alerts…'));
  fill(
    root,
    h(
      'section',
      { class: 'alerts-view', 'aria-labelledby': 'alerts-title' },
      h('div', { class: 'view-head' }, h('h2', { id: 'alerts-title', tabindex: -1 }, 'Alerts')),
      h(
        'p',
        { class: 'muted-text' },
        'Detectors watch every run for divergence, discriminator overpowering, mode collapse, gradient oscillation, colour distortion, stalls and early stopping. “Apply” sends the remedy to the running trainer as a control.',
      ),
      state,
      panel.el,
    ),
  );
  let disposed = false;
  const load = async (): Promise<void> => {
    try {
      const [runs, alerts] = await Promise.all([api.runs(), api.alerts({ limit: 2000 })]);
      if (disposed) return;
      for (const r of runs) names.set(r.id, r.name);
      panel.setAlerts(alerts);
      state.replaceChildren();
    } catch (err) {
      fill(state, notice('error', `Could not load the alerts: ${(err as Error).message}`));
    }
  };
  const offFrame = live.onFrame((frame) => {
    if (frame.type === 'alert') panel.upsert(frame.alert);
    else if (frame.type === 'control') panel.controlUpdate(frame.control);
    else if (frame.type === 'run') names.set(frame.run.id, frame.run.name);
    else if (frame.type === 'run_deleted') panel.removeRun(frame.run);
  });
  live.want('alerts-view', ['*']);
  void live.ready(['*']).then(load);
  const offReopen = live.onReopen(() => void load());
  return () => {
    disposed = true;
    offFrame();
    offReopen();
    live.want('alerts-view', []);
  };
}
