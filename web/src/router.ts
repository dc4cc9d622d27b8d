// A tiny hash router: #/ (runs; #/?q=FILTER&sort=KEYS&cols=COLUMNS&brush=BRUSHES keeps the table's view), #/runs/ID (one run),
// #/compare?runs=A,B (side by side), #/alerts (every alert).

/** The runs table's view as the address holds it (texts in the grammar of protocol/run-query.ts). */
export interface RunsTableParams {
  q?: string;
  sort?: string;
  cols?: string;
  /** The parallel coordinates' brushes (charts/parallel-coordinates-axes.ts: brushText). */
  brush?: string;
}

export type Route =
  | ({ view: 'runs' } & RunsTableParams)
  | { view: 'run'; id: string }
  | { view: 'compare'; runs: string[] }
  | { view: 'alerts' }
  | { view: 'missing'; path: string };

/** A page of the dashboard: mount() fills its root, dispose() ends its subscriptions and timers. */
export interface View {
  mount(): void;
  dispose(): void;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path = '/', query = ''] = raw.split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) {
    const table: RunsTableParams = {};
    for (const key of ['q', 'sort', 'cols', 'brush'] as const) {
      const v = params.get(key);
      if (v !== null) table[key] = v;
    }
    return { view: 'runs', ...table };
  }
  if (parts[0] === 'runs' && parts.length === 2) return { view: 'run', id: parts[1]! };
  if (parts[0] === 'compare' && parts.length === 1) {
    const runs = (params.get('runs') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return { view: 'compare', runs: [...new Set(runs)] };
  }
  if (parts[0] === 'alerts' && parts.length === 1) return { view: 'alerts' };
  return { view: 'missing', path };
}

export function hrefFor(route: Route): string {
  switch (route.view) {
    case 'runs': {
      const params = new URLSearchParams();
      for (const key of ['q', 'sort', 'cols', 'brush'] as const) if (route[key]) params.set(key, route[key]);
      const qs = params.toString();
      return qs ? `#/?${qs}` : '#/';
    }
    case 'run':
      return `#/runs/${encodeURIComponent(route.id)}`;
    case 'compare':
      return `#/compare?runs=${route.runs.map(encodeURIComponent).join(',')}`;
    case 'alerts':
      return '#/alerts';
    case 'missing':
      return `#${route.path}`;
  }
}

/** Calls `render` with the current route now and on every hash change; hashes not starting with #/ (in-page anchors) are ignored. */
export function startRouter(render: (route: Route) => void): void {
  // null, not '': the first call must render even when the address has no hash at all (http://host:8080/).
  let last: string | null = null;
  const go = (): void => {
    const hash = location.hash;
    if (hash && !hash.startsWith('#/')) return;
    if (hash === last) return;
    last = hash;
    render(parseRoute(hash));
  };
  window.addEventListener('hashchange', go);
  go();
}

export function navigate(route: Route): void {
  location.hash = hrefFor(route);
}
