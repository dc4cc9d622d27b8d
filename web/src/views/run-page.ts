// #/runs/ID — one run, live: alerts, chart groups, sample grids, the latent space, controls, configuration.
import type { Alert, LiveServerFrame, MarkerRecord, Run } from '../../../protocol/index.js';
import { alertMarkers, gapText, storedMarkers } from '../alert-metrics.js';
import { api, ApiError } from '../api.js';
import { ChartGrid } from '../charts/chart-grid.js';
import { chartToolbar } from '../charts/chart-toolbar.js';
import { ANCESTOR_COLOR, runColor } from '../charts/colors.js';
import type { ChartRun } from '../charts/metric-chart.js';
import { AlertsPanel } from '../components/alerts-panel.js';
import { UserRulesEditor } from '../components/user-rules-editor.js';
import { configTable } from '../components/config-table.js';
import { ControlsPanel } from '../components/controls-panel.js';
import { DistributionsPanel } from '../components/distributions-panel.js';
import { LatentPanel } from '../components/latent-panel.js';
import { RunActions } from '../components/run-actions.js';
import { SamplesPanel } from '../components/samples-panel.js';
import { statusBadge, tagChips } from '../components/status-badge.js';
import { current } from '../debug.js';
import { fill, h, kvTable, notice } from '../dom.js';
import { fmtAge, fmtDate, fmtDuration } from '../format.js';
import { ancestorsOf, forkedFrom, forks, summariesUntil, type Ancestor } from '../lineage.js';
import { live } from '../live.js';
import { hrefFor } from '../router.js';

/** #/runs/ID: loads the run, then shows its page (or says it is missing). */
export class RunPageView {
  private disposed = false;
  private page: RunPage | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly id: string,
  ) {}

  mount(): void {
    fill(this.root, notice('loading', 'Loading run…'));
    void this.load();
  }

  dispose(): void {
    this.disposed = true;
    this.page?.dispose();
  }

  private async load(): Promise<void> {
    let run: Run;
    try {
      run = await api.run(this.id);
    } catch (err) {
      if (!this.disposed) this.showMissing(err as Error);
      return;
    }
    const [ancestors, children] = await Promise.all([
      ancestorsOf(run).catch(() => [] as Ancestor[]),
      api.children(run.id).catch(() => [] as Run[]),
    ]);
    if (this.disposed) return;
    this.page = new RunPage(this.root, run, ancestors, children);
    this.page.mount();
  }

  private showMissing(err: Error): void {
    const text =
      err instanceof ApiError && err.status === 404
        ? `There is no run “${this.id}” (it may have been deleted).`
        : `Could not load run ${this.id}: ${err.message}`;
    fill(
      this.root,
      h('div', { class: 'view-head' }, h('h2', { tabindex: -1 }, 'Run not found')),
      notice('error', text, ' ', h('a', { href: '#/' }, 'Back to all runs')),
    );
  }
}

/** One loaded run, live: a header, then alerts, charts, samples, latent space, controls and configuration. */
class RunPage {
  private run: Run;
  private readonly id: string;
  private readonly grid: ChartGrid;
  private readonly alertsPanel: AlertsPanel;
  private readonly userRules: UserRulesEditor;
  private readonly controlsPanel: ControlsPanel;
  private readonly actions: RunActions;
  private readonly samples: SamplesPanel;
  private readonly latent: LatentPanel;
  private readonly distributions: DistributionsPanel;
  private markers: MarkerRecord[] = [];
  private readonly title = h('h2', { id: 'run-title', tabindex: -1 });
  private readonly badges = h('div', { class: 'run-badges' });
  private readonly facts = h('div', { class: 'run-facts' });
  private readonly notes = h('p', { class: 'run-notes' });
  private readonly alertCount = h('span', { class: 'count' });
  private configSection: HTMLElement | null = null;
  private alive = true;
  private stepPaint = 0;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly root: HTMLElement,
    initial: Run,
    /** The runs this one was forked from (nearest first): their curves up to the fork are drawn under its own. */
    private readonly ancestors: readonly Ancestor[] = [],
    private children: readonly Run[] = [],
  ) {
    this.run = initial;
    this.id = initial.id;
    const ref = { id: this.id, name: initial.name, color: runColor(0), start: initial.created_at };
    const lineage: ChartRun[] = ancestors.map((a) => ({
      id: a.run.id,
      name: `${a.run.name} (to step ${a.until})`,
      color: ANCESTOR_COLOR,
      start: a.run.created_at,
      until: a.until,
    }));
    this.grid = new ChartGrid({ runs: [ref, ...lineage] });
    this.alertsPanel = new AlertsPanel({ showRun: false, emptyText: 'No alerts for this run.' });
    this.userRules = new UserRulesEditor({ run: this.id });
    this.controlsPanel = new ControlsPanel(this.id);
    this.actions = new RunActions(
      this.id,
      () => this.run.name,
      (control) => this.controlsPanel.upsert(control),
    );
    this.samples = new SamplesPanel([ref]);
    this.latent = new LatentPanel(this.id);
    this.distributions = new DistributionsPanel(this.id);
    current.grid = this.grid;
    current.samples = this.samples;
    current.latent = this.latent;
    current.distributions = this.distributions;
    this.alertsPanel.onChange(() => {
      this.refreshMarkers();
      this.paintAlertCount();
    });
  }

  mount(): void {
    this.paintHeader();
    fill(this.root, this.article());
    this.configSection = document.getElementById('sec-config')!;
    this.subscribe();
    document.getElementById('run-title')?.focus({ preventScroll: true });
  }

  dispose(): void {
    this.alive = false;
    for (const off of this.unsubscribe) off();
    live.want('run-page', []);
    if (this.stepPaint) clearTimeout(this.stepPaint);
    this.grid.destroy();
    this.latent.dispose();
    this.distributions.dispose();
    if (current.distributions === this.distributions) current.distributions = null;
    if (current.grid === this.grid) current.grid = null;
    if (current.samples === this.samples) current.samples = null;
    if (current.latent === this.latent) current.latent = null;
    document.title = 'ganwatch';
  }

  // --- layout -----------------------------------------------------------------------------------------------
  private article(): HTMLElement {
    return h(
      'article',
      { class: 'run-page', 'aria-labelledby': 'run-title', 'data-run': this.id },
      this.header(),
      section('sec-alerts', 'Alerts', this.alertsPanel.el, this.userRules.el),
      section('sec-charts', 'Charts', h('div', { class: 'sticky-toolbar' }, chartToolbar(this.grid)), this.grid.el),
      section('sec-distributions', 'Distributions', this.distributions.el),
      section('sec-samples', 'Sample grids', this.samples.el),
      section('sec-latent', 'Latent space (encoder μ)', this.latent.el),
      section('sec-controls', 'Controls', this.controlsPanel.el),
      section('sec-config', 'Configuration and hyperparameters', configTable(this.run)),
    );
  }

  private header(): HTMLElement {
    return h(
      'header',
      { class: 'run-header' },
      h(
        'nav',
        { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
        h('a', { href: hrefFor({ view: 'runs' }) }, 'Runs'),
        ' / ',
      ),
      this.title,
      this.badges,
      this.actions.el,
      this.notes,
      this.facts,
      h(
        'nav',
        { class: 'section-nav', 'aria-label': 'Sections of this run' },
        h('button', { type: 'button', onclick: goTo('sec-alerts') }, 'Alerts', this.alertCount),
        h('button', { type: 'button', onclick: goTo('sec-charts') }, 'Charts'),
        h('button', { type: 'button', onclick: goTo('sec-distributions') }, 'Distributions'),
        h('button', { type: 'button', onclick: goTo('sec-samples') }, 'Samples'),
        h('button', { type: 'button', onclick: goTo('sec-latent') }, 'Latent space'),
        h('button', { type: 'button', onclick: goTo('sec-controls') }, 'Controls'),
        h('button', { type: 'button', onclick: goTo('sec-config') }, 'Configuration'),
      ),
    );
  }

  private paintHeader(): void {
    const run = this.run;
    this.title.textContent = run.name;
    fill(this.badges, statusBadge(run.status), tagChips(run.tags));
    this.actions.setStatus(run.status);
    fill(
      this.facts,
      kvTable([
        ['Run id', h('code', null, run.id)],
        ['Backend', run.backend ?? '–'],
        ['Device', run.device ?? '–'],
        ['Host', run.host ?? '–'],
        ['Started', h('span', { title: fmtDate(run.created_at) }, fmtAge(run.created_at))],
        ['Last step', run.last_step === null ? '–' : String(run.last_step)],
        ['Last seen', run.last_seen_at === null ? '–' : fmtAge(run.last_seen_at)],
        ['Connection gaps', this.gapsFact()],
        ...(run.parent_id !== null
          ? [['Forked from', forkedFrom(run, this.ancestors[0]?.run ?? null)] as [string, Node]]
          : []),
        ...(this.children.length ? [['Forks', forks(this.children)] as [string, Node]] : []),
      ]),
    );
    this.notes.textContent = run.notes;
    this.notes.hidden = !run.notes;
    document.title = `${run.name} · ganwatch`;
  }

  /** Times the trainer could not reach the server (the curves are complete: it resent what it trained meanwhile). */
  private gapsFact(): Node | string {
    const gaps = this.markers.filter((m) => m.kind === 'gap');
    if (!gaps.length) return 'none';
    const longest = Math.max(...gaps.map((m) => (typeof m.evidence.seconds === 'number' ? m.evidence.seconds : 0)));
    return h(
      'span',
      { class: 'run-gaps', title: gaps.map(gapText).join('\n') },
      `${gaps.length}, longest ${fmtDuration(longest)}`,
    );
  }

  private paintAlertCount(): void {
    const open = this.alertsPanel.all().filter((a) => a.state === 'firing').length;
    this.alertCount.textContent = open ? ` (${open} open)` : '';
  }

  private refreshMarkers(): void {
    const fromAlerts = alertMarkers(this.alertsPanel.all(), this.grid.metricsOf(this.id));
    this.grid.setMarkers([...storedMarkers(this.markers), ...fromAlerts]);
  }

  // --- data -------------------------------------------------------------------------------------------------
  private async loadData(): Promise<void> {
    const id = this.id;
    void this.loadAncestors();
    const [metrics, markerList, alerts, controls] = await Promise.all([
      api.metrics(id),
      api.markers(id).catch(() => [] as MarkerRecord[]),
      api.alerts({ run: id, limit: 2000 }).catch(() => [] as Alert[]),
      api.controls(id).catch(() => ({ controls: [], trainer_connected: undefined })),
    ]);
    this.grid.setMetrics(id, metrics);
    this.markers = markerList;
    this.paintHeader();
    this.alertsPanel.setAlerts(alerts);
    void this.userRules.load();
    this.controlsPanel.setControls(controls.controls, controls.trainer_connected);
  }

  /** The ancestors' metrics, cut at the fork: the charts draw them dimmed under this run's. */
  private async loadAncestors(): Promise<void> {
    for (const a of this.ancestors) {
      const metrics = await api.metrics(a.run.id).catch(() => null);
      if (metrics && this.alive) this.grid.setMetrics(a.run.id, summariesUntil(metrics, a.until));
    }
  }

  /** Subscribes first and reads after the server confirmed it: a point pushed in between is in one or the other. */
  private subscribe(): void {
    live.want('run-page', [this.id]);
    void live.ready([this.id]).then(() => {
      if (!this.alive) return;
      void this.loadData().catch((err: Error) =>
        this.grid.el.prepend(notice('error', `Could not load this run’s metrics: ${err.message}`)),
      );
      void this.samples.load();
      void this.latent.load();
      void this.distributions.load();
    });
    const offFrame = live.onFrame((frame) => this.onFrame(frame));
    const offReopen = live.onReopen(() => this.reload());
    this.unsubscribe = [offFrame, offReopen];
  }

  private reload(): void {
    void api.run(this.id).then((r) => {
      this.run = r;
      this.paintHeader();
    });
    void this.loadData().then(() => this.grid.reloadAll());
    void this.samples.load();
    void this.latent.load();
    void this.distributions.load();
  }

  private onFrame(frame: LiveServerFrame): void {
    if (!('run' in frame)) return;
    const frameRun = typeof frame.run === 'string' ? frame.run : frame.run.id;
    if (frameRun !== this.id) return;
    this.distributions.onFrame(frame);
    switch (frame.type) {
      case 'points':
        this.onPoints(frame.points);
        break;
      case 'run':
        this.onRun(frame.run);
        break;
      case 'run_deleted':
        this.root.prepend(notice('error', 'This run was deleted.', ' ', h('a', { href: '#/' }, 'Back to all runs')));
        break;
      case 'alert':
        this.alertsPanel.upsert(frame.alert);
        break;
      case 'marker':
        this.markers = [...this.markers, frame.marker];
        this.refreshMarkers();
        if (frame.marker.kind === 'gap') this.paintHeader();
        break;
      case 'control':
        this.controlsPanel.upsert(frame.control);
        this.actions.controlUpdate(frame.control);
        this.alertsPanel.controlUpdate(frame.control);
        break;
      case 'media':
        this.samples.mediaAdded(this.id, frame.kind);
        break;
      case 'latents':
        this.latent.latentsAdded(frame.epoch);
        break;
      default:
        this.onUnknownFrame(frame);
    }
  }

  private onPoints(points: Extract<LiveServerFrame, { type: 'points' }>['points']): void {
    let last = this.run.last_step ?? -1;
    for (const p of points) last = Math.max(last, p.step);
    // A new metric may be where an open alert's marker goes.
    if (this.grid.livePoints(this.id, points)) this.refreshMarkers();
    if (last !== this.run.last_step) {
      this.run = { ...this.run, last_step: last, last_seen_at: Date.now() / 1000 };
      // The header is cheap, but not worth repainting more than a few times a second.
      if (!this.stepPaint) this.stepPaint = window.setTimeout(() => ((this.stepPaint = 0), this.paintHeader()), 250);
    }
  }

  private onRun(run: Run): void {
    this.run = run;
    this.paintHeader();
    // A rollback finishes this run right after creating its child: look for new forks then.
    if (run.status === 'finished' || run.status === 'failed') {
      void api.children(this.id).then((children) => {
        if (!this.alive) return;
        this.children = children;
        this.paintHeader();
      });
    }
    fill(
      this.configSection!,
      h('h3', { id: 'sec-config-h', tabindex: -1 }, 'Configuration and hyperparameters'),
      configTable(run),
    );
  }

  /** Frames this build does not know yet (e.g. `projection` from the projection worker). */
  private onUnknownFrame(frame: unknown): void {
    const f = frame as { type: string; epoch?: number; method?: string };
    if (f.type === 'projection' && typeof f.epoch === 'number')
      this.latent.projectionReady(f.epoch, String(f.method ?? ''));
  }
}

function goTo(sectionId: string): () => void {
  return () => {
    const target = document.getElementById(sectionId);
    target?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    target?.querySelector<HTMLElement>('h2, h3')?.focus({ preventScroll: true });
  };
}

function section(sid: string, heading: string | Node, ...body: Array<Node | null>): HTMLElement {
  return h(
    'section',
    { id: sid, class: 'panel', 'aria-labelledby': `${sid}-h` },
    h('h3', { id: `${sid}-h`, tabindex: -1 }, heading),
    ...body,
  );
}
