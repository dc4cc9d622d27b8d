// #/runs/ID — one run, live: alerts, chart groups, sample grids, the latent space, controls, configuration.
import type { Alert, MarkerRecord, Run } from '../../../protocol/index.js';
import { alertMarkers, gapText, storedMarkers } from '../alert-metrics.js';
import { api, ApiError } from '../api.js';
import { ChartGrid } from '../charts/chart-grid.js';
import { chartToolbar } from '../charts/chart-toolbar.js';
import { runColor } from '../charts/colors.js';
import { AlertsPanel } from '../components/alerts-panel.js';
import { configTable } from '../components/config-table.js';
import { ControlsPanel } from '../components/controls-panel.js';
import { LatentPanel } from '../components/latent-panel.js';
import { SamplesPanel } from '../components/samples-panel.js';
import { statusBadge, tagChips } from '../components/status-badge.js';
import { current } from '../debug.js';
import { fill, h, kvTable, notice } from '../dom.js';
import { fmtAge, fmtDate, fmtDuration } from '../format.js';
import { live } from '../live.js';
import { hrefFor } from '../router.js';

export function mountRunPage(root: HTMLElement, id: string): () => void {
  let disposed = false;
  const cleanups: Array<() => void> = [];
  fill(root, notice('loading', 'Loading run…'));

  void (async () => {
    let run: Run;
    try {
      run = await api.run(id);
    } catch (err) {
      if (disposed) return;
      const text =
        err instanceof ApiError && err.status === 404
          ? `There is no run “${id}” (it may have been deleted).`
          : `Could not load run ${id}: ${(err as Error).message}`;
      fill(
        root,
        h('div', { class: 'view-head' }, h('h2', { tabindex: -1 }, 'Run not found')),
        notice('error', text, ' ', h('a', { href: '#/' }, 'Back to all runs')),
      );
      return;
    }
    if (disposed) return;
    cleanups.push(build(root, run));
  })();

  return () => {
    disposed = true;
    for (const fn of cleanups) fn();
  };
}

function build(root: HTMLElement, initial: Run): () => void {
  let run = initial;
  const id = run.id;
  const ref = { id, name: run.name, color: runColor(0), start: run.created_at };
  const grid = new ChartGrid({ runs: [ref] });
  const alertsPanel = new AlertsPanel({ showRun: false, emptyText: 'No alerts for this run.' });
  const controlsPanel = new ControlsPanel(id);
  const samples = new SamplesPanel([ref]);
  const latent = new LatentPanel(id);
  current.grid = grid;
  current.samples = samples;
  current.latent = latent;
  let markers: MarkerRecord[] = [];

  const refreshMarkers = (): void =>
    grid.setMarkers([...storedMarkers(markers), ...alertMarkers(alertsPanel.all(), grid.metricsOf(id))]);
  alertsPanel.onChange(() => {
    refreshMarkers();
    paintAlertCount();
  });

  // --- header -----------------------------------------------------------------------------------------------
  const title = h('h2', { id: 'run-title', tabindex: -1 });
  const badges = h('div', { class: 'run-badges' });
  const facts = h('div', { class: 'run-facts' });
  const notes = h('p', { class: 'run-notes' });
  const alertCount = h('span', { class: 'count' });
  const paintHeader = (): void => {
    title.textContent = run.name;
    fill(badges, statusBadge(run.status), tagChips(run.tags));
    fill(
      facts,
      kvTable([
        ['Run id', h('code', null, run.id)],
        ['Backend', run.backend ?? '–'],
        ['Device', run.device ?? '–'],
        ['Host', run.host ?? '–'],
        ['Started', h('span', { title: fmtDate(run.created_at) }, fmtAge(run.created_at))],
        ['Last step', run.last_step === null ? '–' : String(run.last_step)],
        ['Last seen', run.last_seen_at === null ? '–' : fmtAge(run.last_seen_at)],
        ['Connection gaps', gapsFact()],
      ]),
    );
    notes.textContent = run.notes;
    notes.hidden = !run.notes;
    document.title = `${run.name} · ganwatch`;
  };
  // Times the trainer could not reach the server (the curves are complete: it resent what it trained meanwhile).
  const gapsFact = (): Node | string => {
    const gaps = markers.filter((m) => m.kind === 'gap');
    if (!gaps.length) return 'none';
    const longest = Math.max(...gaps.map((m) => (typeof m.evidence.seconds === 'number' ? m.evidence.seconds : 0)));
    return h(
      'span',
      { class: 'run-gaps', title: gaps.map(gapText).join('\n') },
      `${gaps.length}, longest ${fmtDuration(longest)}`,
    );
  };
  const paintAlertCount = (): void => {
    const open = alertsPanel.all().filter((a) => a.state === 'firing').length;
    alertCount.textContent = open ? ` (${open} open)` : '';
  };
  const goTo = (sectionId: string) => () => {
    const target = document.getElementById(sectionId);
    target?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    target?.querySelector<HTMLElement>('h2, h3')?.focus({ preventScroll: true });
  };
  const section = (sid: string, heading: string | Node, ...body: Array<Node | null>): HTMLElement =>
    h(
      'section',
      { id: sid, class: 'panel', 'aria-labelledby': `${sid}-h` },
      h('h3', { id: `${sid}-h`, tabindex: -1 }, heading),
      ...body,
    );

  paintHeader();
  fill(
    root,
    h(
      'article',
      { class: 'run-page', 'aria-labelledby': 'run-title', 'data-run': id },
      h(
        'header',
        { class: 'run-header' },
        h(
          'nav',
          { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
          h('a', { href: hrefFor({ view: 'runs' }) }, 'Runs'),
          ' / ',
        ),
        title,
        badges,
        notes,
        facts,
        h(
          'nav',
          { class: 'section-nav', 'aria-label': 'Sections of this run' },
          h('button', { type: 'button', onclick: goTo('sec-alerts') }, 'Alerts', alertCount),
          h('button', { type: 'button', onclick: goTo('sec-charts') }, 'Charts'),
          h('button', { type: 'button', onclick: goTo('sec-samples') }, 'Samples'),
          h('button', { type: 'button', onclick: goTo('sec-latent') }, 'Latent space'),
          h('button', { type: 'button', onclick: goTo('sec-controls') }, 'Controls'),
          h('button', { type: 'button', onclick: goTo('sec-config') }, 'Configuration'),
        ),
      ),
      section('sec-alerts', 'Alerts', alertsPanel.el),
      section('sec-charts', 'Charts', h('div', { class: 'sticky-toolbar' }, chartToolbar(grid)), grid.el),
      section('sec-samples', 'Sample grids', samples.el),
      section('sec-latent', 'Latent space (encoder μ)', latent.el),
      section('sec-controls', 'Controls', controlsPanel.el),
      section('sec-config', 'Configuration and hyperparameters', configTable(run)),
    ),
  );
  const configSection = document.getElementById('sec-config')!;

  // --- data -------------------------------------------------------------------------------------------------
  const loadData = async (): Promise<void> => {
    const [metrics, markerList, alerts, controls] = await Promise.all([
      api.metrics(id),
      api.markers(id).catch(() => [] as MarkerRecord[]),
      api.alerts({ run: id, limit: 2000 }).catch(() => [] as Alert[]),
      api.controls(id).catch(() => ({ controls: [], trainer_connected: undefined })),
    ]);
    grid.setMetrics(id, metrics);
    markers = markerList;
    paintHeader();
    alertsPanel.setAlerts(alerts);
    controlsPanel.setControls(controls.controls, controls.trainer_connected);
  };
  // Subscribe first and read after the server confirmed it: a point pushed in between is then in one or the other.
  live.want('run-page', [id]);
  let alive = true;
  void live.ready([id]).then(() => {
    if (!alive) return;
    void loadData().catch((err: Error) =>
      grid.el.prepend(notice('error', `Could not load this run’s metrics: ${err.message}`)),
    );
    void samples.load();
    void latent.load();
  });

  let stepPaint = 0;
  const offFrame = live.onFrame((frame) => {
    if (!('run' in frame)) return;
    const frameRun = typeof frame.run === 'string' ? frame.run : frame.run.id;
    if (frameRun !== id) return;
    switch (frame.type) {
      case 'points': {
        let last = run.last_step ?? -1;
        for (const p of frame.points) last = Math.max(last, p.step);
        // A new metric may be where an open alert's marker goes.
        if (grid.livePoints(id, frame.points)) refreshMarkers();
        if (last !== run.last_step) {
          run = { ...run, last_step: last, last_seen_at: Date.now() / 1000 };
          // The header is cheap, but not worth repainting more than a few times a second.
          if (!stepPaint) stepPaint = window.setTimeout(() => ((stepPaint = 0), paintHeader()), 250);
        }
        break;
      }
      case 'run':
        run = frame.run;
        paintHeader();
        fill(
          configSection,
          h('h3', { id: 'sec-config-h', tabindex: -1 }, 'Configuration and hyperparameters'),
          configTable(run),
        );
        break;
      case 'run_deleted':
        root.prepend(notice('error', 'This run was deleted.', ' ', h('a', { href: '#/' }, 'Back to all runs')));
        break;
      case 'alert':
        alertsPanel.upsert(frame.alert);
        break;
      case 'marker':
        markers = [...markers, frame.marker];
        refreshMarkers();
        if (frame.marker.kind === 'gap') paintHeader();
        break;
      case 'control':
        controlsPanel.upsert(frame.control);
        alertsPanel.controlUpdate(frame.control);
        break;
      case 'media':
        samples.mediaAdded(id, frame.kind);
        break;
      case 'latents':
        latent.latentsAdded(frame.epoch);
        break;
      default: {
        // Frames this build does not know yet (e.g. `projection` from the projection worker).
        const f = frame as { type: string; epoch?: number; method?: string };
        if (f.type === 'projection' && typeof f.epoch === 'number')
          latent.projectionReady(f.epoch, String(f.method ?? ''));
      }
    }
  });
  const offReopen = live.onReopen(() => {
    void api.run(id).then((r) => {
      run = r;
      paintHeader();
    });
    void loadData().then(() => grid.reloadAll());
    void samples.load();
    void latent.load();
  });
  document.getElementById('run-title')?.focus({ preventScroll: true });

  return () => {
    alive = false;
    offFrame();
    offReopen();
    live.want('run-page', []);
    if (stepPaint) clearTimeout(stepPaint);
    grid.destroy();
    latent.dispose();
    if (current.grid === grid) current.grid = null;
    if (current.samples === samples) current.samples = null;
    if (current.latent === latent) current.latent = null;
    document.title = 'ganwatch';
  };
}
