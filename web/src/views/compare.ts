// #/compare?runs=A,B,... — 2 to 10 runs side by side: one colour per run, the same chart groups with synced x axes
// and zoom, the hyperparameters (differences only by default), and the sample grids of the same epoch (side by side,
// swiped or differenced, with one zoom).
import type { LiveServerFrame, MarkerRecord, Run } from '../../../protocol/index.js';
import { storedMarkers } from '../alert-metrics.js';
import { api } from '../api.js';
import { ChartGrid } from '../charts/chart-grid.js';
import { chartToolbar } from '../charts/chart-toolbar.js';
import { runColor } from '../charts/colors.js';
import type { ChartRun } from '../charts/metric-chart.js';
import { compareConfigTable } from '../components/config-table.js';
import { SamplesPanel } from '../components/samples-panel.js';
import { statusBadge } from '../components/status-badge.js';
import { current } from '../debug.js';
import { fill, h, notice } from '../dom.js';
import { live } from '../live.js';
import { hrefFor, navigate } from '../router.js';

const MAX_RUNS = 10;

/** #/compare: loads the requested runs, then shows them side by side (or asks for at least two). */
export class CompareView {
  private disposed = false;
  private page: ComparePage | null = null;
  private readonly head = h(
    'div',
    { class: 'view-head' },
    h('h2', { id: 'compare-title', tabindex: -1 }, 'Compare runs'),
  );

  constructor(
    private readonly root: HTMLElement,
    private readonly requested: string[],
  ) {}

  mount(): void {
    if (this.requested.length < 2) {
      fill(
        this.root,
        this.head,
        notice(
          'empty',
          'Pick 2 to 10 runs to compare: tick them in the ',
          h('a', { href: '#/' }, 'runs list'),
          ' and press “Compare selected”.',
        ),
      );
      return;
    }
    const ids = this.requested.slice(0, MAX_RUNS);
    fill(this.root, this.head, notice('loading', `Loading ${ids.length} runs…`));
    void this.load(ids);
  }

  dispose(): void {
    this.disposed = true;
    this.page?.dispose();
  }

  private async load(ids: string[]): Promise<void> {
    const results = await Promise.allSettled(ids.map((id) => api.run(id)));
    if (this.disposed) return;
    const runs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const missing = ids.filter((_, i) => results[i]!.status === 'rejected');
    this.page = new ComparePage(this.root, runs);
    this.page.mount(this.head, missing, this.requested.length > MAX_RUNS);
  }
}

/** The loaded runs: legend, charts with synced axes, hyperparameters and sample grids, live. */
class ComparePage {
  private runs: Run[];
  private readonly colors: string[];
  private readonly grid: ChartGrid;
  private readonly samples: SamplesPanel;
  private readonly legend = h('ul', { class: 'legend compare-legend', 'aria-label': 'Runs compared' });
  private readonly config: HTMLElement;
  private alive = true;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly root: HTMLElement,
    initialRuns: Run[],
  ) {
    this.runs = initialRuns;
    const refs: ChartRun[] = initialRuns.map((r, i) => ({
      id: r.id,
      name: r.name,
      color: runColor(i),
      start: r.created_at,
    }));
    this.colors = refs.map((r) => r.color);
    this.grid = new ChartGrid({ runs: refs, compare: true });
    const configs = new Map(initialRuns.map((r) => [r.id, r.config ?? {}]));
    this.samples = new SamplesPanel(refs, 'samples', { compare: { configs } });
    current.grid = this.grid;
    current.samples = this.samples;
    current.latent = null;
    this.paintLegend();
    this.config = h('div', null, compareConfigTable(this.runs, this.colors));
  }

  mount(head: HTMLElement, missing: string[], truncated: boolean): void {
    fill(this.root, this.article(head, missing, truncated));
    document.title = `Compare ${this.runs.length} runs · ganwatch`;
    this.subscribe();
  }

  dispose(): void {
    this.alive = false;
    for (const off of this.unsubscribe) off();
    live.want('compare', []);
    this.grid.destroy();
    this.samples.dispose();
    if (current.grid === this.grid) current.grid = null;
    if (current.samples === this.samples) current.samples = null;
    document.title = 'ganwatch';
  }

  private article(head: HTMLElement, missing: string[], truncated: boolean): HTMLElement {
    return h(
      'article',
      { class: 'compare-page', 'aria-labelledby': 'compare-title' },
      head,
      missing.length ? notice('error', `Not found (deleted?): ${missing.join(', ')}`) : null,
      truncated ? notice('error', `At most ${MAX_RUNS} runs are compared; the first ${MAX_RUNS} are shown.`) : null,
      this.runs.length < 2
        ? notice('empty', 'Fewer than 2 of these runs exist.', ' ', h('a', { href: '#/' }, 'Pick runs'))
        : null,
      this.legend,
      panel('cmp-charts', 'Charts', h('div', { class: 'sticky-toolbar' }, chartToolbar(this.grid)), this.grid.el),
      panel('cmp-config', 'Hyperparameters', this.config),
      panel('cmp-samples', 'Sample grids, same epoch', this.samples.el),
    );
  }

  private paintLegend(): void {
    const runs = this.runs;
    fill(
      this.legend,
      runs.map((r, i) =>
        h(
          'li',
          { 'data-run': r.id },
          h('span', { class: 'swatch', style: `background:${this.colors[i]}`, 'aria-hidden': 'true' }),
          ' ',
          h('a', { href: hrefFor({ view: 'run', id: r.id }) }, r.name),
          ' ',
          statusBadge(r.status),
          ' ',
          forkNote(r, runs),
          runs.length > 2 ? removeButton(r, runs) : null,
        ),
      ),
    );
  }

  private async loadMetrics(): Promise<void> {
    const all = await Promise.all(
      this.runs.map(async (r) => {
        const [metrics, markers] = await Promise.all([
          api.metrics(r.id),
          api.markers(r.id).catch(() => [] as MarkerRecord[]),
        ]);
        return { run: r.id, metrics, markers };
      }),
    );
    for (const { run, metrics } of all) this.grid.setMetrics(run, metrics);
    this.grid.setMarkers(storedMarkers(all.flatMap((a) => a.markers)));
  }

  private subscribe(): void {
    const ids = this.runs.map((r) => r.id);
    live.want('compare', ids);
    void live.ready(ids).then(() => {
      if (!this.alive) return;
      void this.loadMetrics().catch((err: Error) =>
        this.grid.el.prepend(notice('error', `Could not load the runs’ metrics: ${err.message}`)),
      );
      void this.samples.load();
    });
    const offFrame = live.onFrame((frame) => this.onFrame(frame));
    const offReopen = live.onReopen(() => {
      void this.loadMetrics().then(() => this.grid.reloadAll());
      void this.samples.load();
    });
    this.unsubscribe = [offFrame, offReopen];
  }

  private onFrame(frame: LiveServerFrame): void {
    switch (frame.type) {
      case 'points':
        this.grid.livePoints(frame.run, frame.points);
        break;
      case 'run': {
        const i = this.runs.findIndex((r) => r.id === frame.run.id);
        if (i < 0) break;
        this.runs = this.runs.map((r, j) => (j === i ? frame.run : r));
        this.paintLegend();
        fill(this.config, compareConfigTable(this.runs, this.colors));
        break;
      }
      case 'media':
        this.samples.mediaAdded(frame.run, frame.kind);
        break;
      default:
        break;
    }
  }
}

/** "fork of NAME at step N" when the run's parent is compared too. */
function forkNote(run: Run, runs: readonly Run[]): HTMLElement | null {
  const parent = run.parent_id !== null ? runs.find((r) => r.id === run.parent_id) : undefined;
  if (!parent) return null;
  return h(
    'span',
    { class: 'fork-note', 'data-lineage': 'fork-of' },
    `fork of ${parent.name} at step ${run.fork_step} `,
  );
}

function removeButton(run: Run, runs: Run[]): HTMLElement {
  return h(
    'button',
    {
      type: 'button',
      class: 'small',
      'aria-label': `Remove ${run.name} from the comparison`,
      onclick: () => navigate({ view: 'compare', runs: runs.filter((x) => x.id !== run.id).map((x) => x.id) }),
    },
    '×',
  );
}

function panel(id: string, heading: string, ...body: Node[]): HTMLElement {
  return h(
    'section',
    { class: 'panel', id, 'aria-labelledby': `${id}-h` },
    h('h3', { id: `${id}-h` }, heading),
    ...body,
  );
}
