// #/compare?runs=A,B,... — 2 to 10 runs side by side: one colour per run, the same chart groups with synced x axes
// and zoom, the hyperparameters (differences only by default), and the sample grids of the same epoch.
import type { MarkerRecord, Run } from '../../../protocol/index.js';
import { storedMarkers } from '../alert-metrics.js';
import { api } from '../api.js';
import { ChartGrid } from '../charts/chart-grid.js';
import { chartToolbar } from '../charts/chart-toolbar.js';
import { runColor } from '../charts/colors.js';
import type { RunRef } from '../charts/metric-chart.js';
import { compareConfigTable } from '../components/config-table.js';
import { SamplesPanel } from '../components/samples-panel.js';
import { statusBadge } from '../components/status-badge.js';
import { current } from '../debug.js';
import { fill, h, notice } from '../dom.js';
import { live } from '../live.js';
import { hrefFor, navigate } from '../router.js';

const MAX_RUNS = 10;

export function mountCompare(root: HTMLElement, requested: string[]): () => void {
  let disposed = false;
  let cleanup: (() => void) | null = null;
  const head = h('div', { class: 'view-head' }, h('h2', { id: 'compare-title', tabindex: -1 }, 'Compare runs'));
  if (requested.length < 2) {
    fill(
      root,
      head,
      notice(
        'empty',
        'Pick 2 to 10 runs to compare: tick them in the ',
        h('a', { href: '#/' }, 'runs list'),
        ' and press “Compare selected”.',
      ),
    );
    return () => undefined;
  }
  const ids = requested.slice(0, MAX_RUNS);
  fill(root, head, notice('loading', `Loading ${ids.length} runs…`));

  void (async () => {
    const results = await Promise.allSettled(ids.map((id) => api.run(id)));
    if (disposed) return;
    const runs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const missing = ids.filter((_, i) => results[i]!.status === 'rejected');
    cleanup = build(root, head, runs, missing, requested.length > MAX_RUNS);
  })();

  return () => {
    disposed = true;
    cleanup?.();
  };
}

function build(
  root: HTMLElement,
  head: HTMLElement,
  initialRuns: Run[],
  missing: string[],
  truncated: boolean,
): () => void {
  let runs = initialRuns;
  const refs: RunRef[] = runs.map((r, i) => ({ id: r.id, name: r.name, color: runColor(i), start: r.created_at }));
  const colors = refs.map((r) => r.color);
  const grid = new ChartGrid({ runs: refs, compare: true });
  const samples = new SamplesPanel(refs);
  current.grid = grid;
  current.samples = samples;
  current.latent = null;

  const legend = h('ul', { class: 'legend compare-legend', 'aria-label': 'Runs compared' });
  const paintLegend = (): void => {
    fill(
      legend,
      runs.map((r, i) =>
        h(
          'li',
          { 'data-run': r.id },
          h('span', { class: 'swatch', style: `background:${colors[i]}`, 'aria-hidden': 'true' }),
          ' ',
          h('a', { href: hrefFor({ view: 'run', id: r.id }) }, r.name),
          ' ',
          statusBadge(r.status),
          ' ',
          runs.length > 2
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'small',
                  'aria-label': `Remove ${r.name} from the comparison`,
                  onclick: () =>
                    navigate({ view: 'compare', runs: runs.filter((x) => x.id !== r.id).map((x) => x.id) }),
                },
                '×',
              )
            : null,
        ),
      ),
    );
  };
  paintLegend();
  const config = h('div', null, compareConfigTable(runs, colors));

  fill(
    root,
    h(
      'article',
      { class: 'compare-page', 'aria-labelledby': 'compare-title' },
      head,
      missing.length ? notice('error', `Not found (deleted?): ${missing.join(', ')}`) : null,
      truncated ? notice('error', `At most ${MAX_RUNS} runs are compared; the first ${MAX_RUNS} are shown.`) : null,
      runs.length < 2
        ? notice('empty', 'Fewer than 2 of these runs exist.', ' ', h('a', { href: '#/' }, 'Pick runs'))
        : null,
      legend,
      h(
        'section',
        { class: 'panel', id: 'cmp-charts', 'aria-labelledby': 'cmp-charts-h' },
        h('h3', { id: 'cmp-charts-h' }, 'Charts'),
        h('div', { class: 'sticky-toolbar' }, chartToolbar(grid)),
        grid.el,
      ),
      h(
        'section',
        { class: 'panel', id: 'cmp-config', 'aria-labelledby': 'cmp-config-h' },
        h('h3', { id: 'cmp-config-h' }, 'Hyperparameters'),
        config,
      ),
      h(
        'section',
        { class: 'panel', id: 'cmp-samples', 'aria-labelledby': 'cmp-samples-h' },
        h('h3', { id: 'cmp-samples-h' }, 'Sample grids, same epoch'),
        samples.el,
      ),
    ),
  );
  document.title = `Compare ${runs.length} runs · ganwatch`;

  const load = async (): Promise<void> => {
    const all = await Promise.all(
      runs.map(async (r) => {
        const [metrics, markers] = await Promise.all([
          api.metrics(r.id),
          api.markers(r.id).catch(() => [] as MarkerRecord[]),
        ]);
        return { run: r.id, metrics, markers };
      }),
    );
    for (const { run, metrics } of all) grid.setMetrics(run, metrics);
    grid.setMarkers(storedMarkers(all.flatMap((a) => a.markers)));
  };
  live.want(
    'compare',
    runs.map((r) => r.id),
  );
  let alive = true;
  void live.ready(runs.map((r) => r.id)).then(() => {
    if (!alive) return;
    void load().catch((err: Error) =>
      grid.el.prepend(notice('error', `Could not load the runs’ metrics: ${err.message}`)),
    );
    void samples.load();
  });

  const offFrame = live.onFrame((frame) => {
    switch (frame.type) {
      case 'points':
        grid.livePoints(frame.run, frame.points);
        break;
      case 'run': {
        const i = runs.findIndex((r) => r.id === frame.run.id);
        if (i < 0) break;
        runs = runs.map((r, j) => (j === i ? frame.run : r));
        paintLegend();
        fill(config, compareConfigTable(runs, colors));
        break;
      }
      case 'media':
        samples.mediaAdded(frame.run, frame.kind);
        break;
      default:
        break;
    }
  });
  const offReopen = live.onReopen(() => {
    void load().then(() => grid.reloadAll());
    void samples.load();
  });

  return () => {
    alive = false;
    offFrame();
    offReopen();
    live.want('compare', []);
    grid.destroy();
    if (current.grid === grid) current.grid = null;
    if (current.samples === samples) current.samples = null;
    document.title = 'ganwatch';
  };
}
