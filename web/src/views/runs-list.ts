// #/ — the runs table: the runs a filter expression selects, sorted by any columns (Shift-click for several), with
// the columns the user chose (config keys, metric last/min/max/best, status, name, tags, age, step, alerts), updated
// live; the view (filter, sort, columns) in the address; quick filters; selection for the compare view; rename / tag /
// note / delete. Filtering and sorting happen on the server (GET /runs?q=&sort=&columns=), from the run summaries.
import type { Alert, LiveServerFrame, Run, RunColumnValue, RunRow } from '../../../protocol/index.js';
import { metricDirection } from '../../../protocol/metric-directions.js';
import { RUN_STATUSES } from '../../../protocol/run-statuses.js';
import { fieldKey, type Field, type SortKey } from '../../../protocol/run-query.js';
import { API_PREFIX, decodeValue, type WireValue } from '../../../protocol/wire.js';
import { ApiError, api } from '../api.js';
import { ParallelCoordinates } from '../charts/parallel-coordinates.js';
import { ColumnChooser, columnLabel } from '../components/column-chooser.js';
import { QueryBox } from '../components/query-box.js';
import { RunEditDialog } from '../components/run-edit-dialog.js';
import {
  columnsText,
  readView,
  readWidths,
  saveView,
  saveWidth,
  sortText,
  type TableView,
} from '../components/runs-table-state.js';
import { SEVERITY_RANK, severityBadge, statusBadge, tagChips } from '../components/status-badge.js';
import { VirtualRows } from '../components/virtual-rows.js';
import { fill, h, notice, uid } from '../dom.js';
import { fmtAge, fmtAny, fmtDate, fmtValue } from '../format.js';
import { live } from '../live.js';
import { hrefFor, navigate, type RunsTableParams } from '../router.js';

const MAX_COMPARE = 10;
/** Runs per request while loading the table (the whole filtered set is kept: it is what a chart of it would draw). */
const PAGE = 5000;
const RELOAD_DELAY_MS = 250;

interface Row {
  tr: HTMLTableRowElement;
  check: HTMLInputElement;
  /** One cell per column, in column order. */
  cells: HTMLTableCellElement[];
}

/** The cells of a row besides the columns: the selection box and the actions. */
const EXTRA_CELLS = 2;

/** The runs table view. `runs` holds the filtered runs in the server's order with their metric columns. */
export class RunsListView {
  private view: TableView;
  /** The filtered, sorted runs with their columns: the one place the table (and any chart beside it) reads. */
  private runs: RunRow[] = [];
  private readonly byId = new Map<string, RunRow>();
  /** The runs the quick filters and the brushes keep, in table order: the rows the table body can show. */
  private shown: RunRow[] = [];
  /** The rows in the DOM (the virtualised body holds only those near the view), by run id. */
  private readonly rowEls = new Map<string, Row>();
  private readonly firing = new Map<number, Alert>();
  private readonly selected = new Set<string>();
  private fields: { metrics: string[]; config: string[] } = { metrics: [], config: [] };
  private disposed = false;
  private loading: AbortController | null = null;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly ids = { name: uid('f-name'), tag: uid('f-tag'), status: uid('f-status') };
  private readonly nameFilter: HTMLInputElement;
  private readonly tagFilter: HTMLSelectElement;
  private readonly statusFilter: HTMLSelectElement;
  private readonly query: QueryBox;
  private readonly countEl: HTMLElement;
  private readonly compareBtn: HTMLButtonElement;
  private readonly clearBtn: HTMLButtonElement;
  private readonly columnsBtn: HTMLButtonElement;
  private readonly thead: HTMLTableSectionElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly caption: HTMLTableCaptionElement;
  private readonly table: HTMLTableElement;
  private readonly scroller: HTMLDivElement;
  private readonly body: VirtualRows<RunRow>;
  private readonly state: HTMLElement;
  private readonly dialog: RunEditDialog;
  private readonly chooser: ColumnChooser;
  private readonly plot: ParallelCoordinates;
  /** The runs the plot's brushes keep (null: no brush); the others are hidden in the table. */
  private brushed: ReadonlySet<string> | null = null;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly root: HTMLElement,
    params: RunsTableParams = {},
  ) {
    this.view = readView(params);
    this.nameFilter = h('input', {
      id: this.ids.name,
      type: 'search',
      placeholder: 'part of a name',
      autocomplete: 'off',
    });
    this.tagFilter = h('select', { id: this.ids.tag }, h('option', { value: '' }, 'any tag'));
    this.statusFilter = h(
      'select',
      { id: this.ids.status },
      h('option', { value: '' }, 'any status'),
      RUN_STATUSES.map((s) => h('option', { value: s }, s)),
    );
    this.query = new QueryBox(this.view.q, (q) => {
      this.view = { ...this.view, q };
      this.changed();
    });
    this.countEl = h('p', { class: 'muted-text', role: 'status', 'aria-live': 'polite' });
    this.compareBtn = h(
      'button',
      { type: 'button', class: 'primary', disabled: true, 'data-shortcut': 'compare' },
      'Compare selected',
    );
    this.clearBtn = h('button', { type: 'button', disabled: true }, 'Clear selection');
    this.columnsBtn = h('button', { type: 'button' }, 'Columns…');
    this.thead = h('thead');
    this.tbody = h('tbody');
    this.caption = h('caption', { class: 'visually-hidden' });
    this.table = h('table', { class: 'data runs-table' }, this.caption, this.thead, this.tbody);
    this.scroller = h('div', { class: 'table-scroll runs-table-scroll' }, this.table);
    this.body = new VirtualRows(this.scroller, this.tbody, {
      key: (run) => run.id,
      create: (run) => {
        const row = this.makeRow(run);
        this.paint(run, row);
        this.rowEls.set(run.id, row);
        return row.tr;
      },
      release: (id) => this.rowEls.delete(id),
      columns: () => this.view.columns.length + EXTRA_CELLS,
    });
    this.state = h('div', { class: 'list-state' }, notice('loading', 'Loading runs…'));
    this.dialog = new RunEditDialog((run) => {
      this.upsertRun(run);
      this.refreshTags();
      this.applyFilters();
    });
    this.chooser = new ColumnChooser((columns) => {
      this.view = { ...this.view, columns };
      this.changed();
    });
    this.plot = new ParallelCoordinates(
      {
        onBrush: (keep) => {
          this.brushed = keep;
          this.applyFilters();
        },
        onBrushesChanged: (brush) => {
          this.view = { ...this.view, brush };
          this.writeAddress();
        },
        onCompare: (runs) => navigate({ view: 'compare', runs }),
      },
      this.view.brush,
    );
  }

  /** Shows the table in the root, then loads the runs once the live subscription is in place. */
  mount(): void {
    this.wireControls();
    fill(this.root, this.shell());
    this.table.hidden = true;
    this.paintHead();
    const offFrame = live.onFrame((frame) => this.onFrame(frame));
    live.want('runs-list', ['*']);
    const offReopen = live.onReopen(() => void this.loadAll());
    const ages = setInterval(() => this.refreshAges(), 30_000);
    this.unsubscribe = [offFrame, offReopen, () => clearInterval(ages)];
    void live.ready(['*']).then(() => this.loadAll());
  }

  dispose(): void {
    this.disposed = true;
    this.loading?.abort();
    clearTimeout(this.reloadTimer);
    this.query.dispose();
    this.plot.dispose();
    this.body.dispose();
    for (const off of this.unsubscribe) off();
    live.want('runs-list', []);
  }

  /** The filtered runs in table order, with their columns (for a chart of them beside the table). */
  filteredRuns(): readonly RunRow[] {
    return this.runs.filter(this.quickMatch(false));
  }

  // --- view state ------------------------------------------------------------------------------------------
  /** The filter, sort or columns changed: the address and this browser remember it, and the table reloads. */
  private changed(): void {
    this.writeAddress();
    this.paintHead();
    void this.loadAll();
  }

  private writeAddress(): void {
    history.replaceState(null, '', hrefFor({ view: 'runs', ...saveView(this.view) }));
  }

  private sortBy(field: Field, add: boolean): void {
    const key = fieldKey(field);
    const at = this.view.sort.findIndex((k) => fieldKey(k.field) === key);
    let sort: SortKey[];
    if (!add) {
      const only = at === 0 && this.view.sort.length === 1 ? this.view.sort[0]! : null;
      sort = [{ field, desc: only ? !only.desc : defaultDesc(field) }];
    } else if (at < 0) sort = [...this.view.sort, { field, desc: defaultDesc(field) }];
    else if (this.view.sort[at]!.desc === defaultDesc(field))
      sort = this.view.sort.map((k, i) => (i === at ? { field, desc: !k.desc } : k));
    else sort = this.view.sort.filter((_, i) => i !== at); // a third Shift-click drops the key
    this.view = { ...this.view, sort };
    this.changed();
  }

  // --- controls --------------------------------------------------------------------------------------------
  private wireControls(): void {
    this.compareBtn.addEventListener('click', () => navigate({ view: 'compare', runs: [...this.selected] }));
    this.clearBtn.addEventListener('click', () => {
      this.selected.clear();
      for (const r of this.rowEls.values()) r.check.checked = false;
      this.updateSelection();
    });
    this.columnsBtn.addEventListener('click', () => {
      void api
        .runFields()
        .then((f) => (this.fields = f))
        .catch(() => undefined)
        .finally(() => this.chooser.open(this.view.columns, this.fields, this.columnsBtn));
    });
    for (const el of [this.nameFilter, this.tagFilter, this.statusFilter])
      el.addEventListener('input', () => {
        this.applyFilters();
        this.plot.update(this.filteredRuns(), this.view.columns);
      });
  }

  private shell(): HTMLElement {
    const { ids } = this;
    return h(
      'section',
      { class: 'runs-view', 'aria-labelledby': 'runs-title' },
      h('div', { class: 'view-head' }, h('h2', { id: 'runs-title', tabindex: -1 }, 'Runs'), this.countEl),
      h(
        'form',
        { class: 'filters', role: 'search', 'aria-label': 'Filter runs', onsubmit: (e: Event) => e.preventDefault() },
        this.query.el,
        h('span', { class: 'field' }, h('label', { for: ids.name }, 'Name'), this.nameFilter),
        h('span', { class: 'field' }, h('label', { for: ids.tag }, 'Tag'), this.tagFilter),
        h('span', { class: 'field' }, h('label', { for: ids.status }, 'Status'), this.statusFilter),
        h('span', { class: 'spacer' }),
        this.columnsBtn,
        this.clearBtn,
        this.compareBtn,
      ),
      this.state,
      this.plot.el,
      this.scroller,
      this.dialog.el,
      this.chooser.el,
    );
  }

  private refreshTags(): void {
    const tags = new Set<string>();
    for (const r of this.runs) for (const t of r.tags) tags.add(t);
    const chosen = this.tagFilter.value;
    fill(
      this.tagFilter,
      h('option', { value: '' }, 'any tag'),
      [...tags].sort().map((t) => h('option', { value: t }, t)),
    );
    this.tagFilter.value = tags.has(chosen) ? chosen : '';
  }

  /** Whether a run passes the quick filters (and, with `brushed`, the plot's brushes). */
  private quickMatch(brushed = true): (run: Run) => boolean {
    const brush = brushed ? this.brushed : null;
    const name = this.nameFilter.value.trim().toLowerCase();
    const tag = this.tagFilter.value;
    const status = this.statusFilter.value;
    return (run) =>
      (!name || run.name.toLowerCase().includes(name)) &&
      (!tag || run.tags.includes(tag)) &&
      (!status || run.status === status) &&
      (!brush || brush.has(run.id));
  }

  /** The quick filters (and the brushes) narrow what the expression returned, at once, in the browser. */
  private applyFilters(): void {
    this.shown = this.runs.filter(this.quickMatch());
    this.paintCount(this.shown.length);
    this.body.setItems(this.shown);
  }

  private paintCount(shown: number): void {
    const total = this.runs.length;
    const filtered = this.view.q !== '';
    this.countEl.textContent =
      total === 0
        ? ''
        : shown === total
          ? `${total} run${total === 1 ? '' : 's'}${filtered ? ' match the filter' : ''}`
          : `Showing ${shown} of ${total} runs`;
    this.table.hidden = total === 0;
    if (total === 0 && !filtered)
      fill(
        this.state,
        notice(
          'empty',
          'No runs yet. Start one with ',
          h('code', null, 'npm run demo'),
          `, or create one over the API (POST ${API_PREFIX}/runs).`,
        ),
      );
    else if (shown === 0) fill(this.state, notice('empty', 'No run matches these filters.'));
    else this.state.replaceChildren();
  }

  private updateSelection(): void {
    for (const id of [...this.selected]) if (!this.byId.has(id)) this.selected.delete(id);
    const n = this.selected.size;
    this.compareBtn.textContent = `Compare selected (${n})`;
    this.compareBtn.disabled = n < 2 || n > MAX_COMPARE;
    this.compareBtn.title = n > MAX_COMPARE ? `At most ${MAX_COMPARE} runs` : n < 2 ? 'Select 2 to 10 runs' : '';
    this.clearBtn.disabled = n === 0;
  }

  // --- header ----------------------------------------------------------------------------------------------
  private paintHead(): void {
    const widths = readWidths();
    const sortAt = new Map(this.view.sort.map((k, i) => [fieldKey(k.field), { i, desc: k.desc }]));
    const cells = this.view.columns.map((f) => {
      const key = fieldKey(f);
      const s = sortAt.get(key);
      const label = columnLabel(f);
      const button = h(
        'button',
        {
          type: 'button',
          class: 'sort-button',
          title: `Sort by ${label} (Shift-click: add to the sort)`,
        },
        label,
        s
          ? h('span', { class: 'sort-mark' }, `${s.desc ? '▼' : '▲'}${this.view.sort.length > 1 ? s.i + 1 : ''}`)
          : null,
      );
      button.addEventListener('click', (e) => this.sortBy(f, e.shiftKey));
      const th = h(
        'th',
        {
          scope: 'col',
          class: isNumeric(f) ? 'num' : '',
          'data-column': key,
          'aria-sort': s ? (s.desc ? 'descending' : 'ascending') : null,
        },
        button,
      );
      const w = widths[key];
      if (w) th.style.width = th.style.minWidth = `${w}px`;
      th.append(resizeHandle(th, key, label));
      return th;
    });
    fill(
      this.thead,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Select')),
        cells,
        h('th', { scope: 'col' }, 'Actions'),
      ),
    );
    this.caption.textContent = this.view.sort.length
      ? `Runs, sorted by ${this.view.sort.map((k) => `${columnLabel(k.field)} ${k.desc ? 'descending' : 'ascending'}`).join(', then ')}`
      : 'Runs, newest first';
  }

  // --- rows ------------------------------------------------------------------------------------------------
  private makeRow(run: RunRow): Row {
    const check = h('input', { type: 'checkbox', 'aria-label': `Select ${run.name} for comparison` });
    check.checked = this.selected.has(run.id);
    check.addEventListener('change', () => {
      if (check.checked) this.selected.add(run.id);
      else this.selected.delete(run.id);
      this.updateSelection();
    });
    // data-col names what a cell holds: the phone layout (styles.css) keeps status, name, step and alerts.
    const cells = this.view.columns.map((f) =>
      h('td', {
        class: [isNumeric(f) ? 'num' : '', f.kind === 'run' && f.name === 'name' ? 'run-name' : ''].join(' ').trim(),
        'data-col': f.kind === 'run' ? f.name : fieldKey(f),
      }),
    );
    const edit = h('button', { type: 'button', class: 'small' }, 'Edit');
    const del = h('button', { type: 'button', class: 'small danger' }, 'Delete');
    edit.addEventListener('click', () => this.dialog.open(this.byId.get(run.id) ?? run, edit));
    del.addEventListener('click', () => void this.remove(this.byId.get(run.id) ?? run));
    const tr = h(
      'tr',
      { 'data-run': run.id },
      h('td', null, check),
      cells,
      h('td', { class: 'actions' }, edit, ' ', del),
    );
    return { tr, check, cells };
  }

  private paint(run: RunRow, row: Row): void {
    this.view.columns.forEach((f, i) => this.paintCell(run, f, row.cells[i]!));
    row.check.setAttribute('aria-label', `Select ${run.name} for comparison`);
  }

  private paintCell(run: RunRow, f: Field, cell: HTMLTableCellElement): void {
    if (f.kind === 'metric') {
      const c = run.columns[fieldKey(f)];
      cell.textContent = c ? fmtValue(c.value) : '–';
      cell.title = c ? `step ${c.step}` : '';
      cell.classList.toggle('nonfinite', !!c && !Number.isFinite(decodeValue(c.value)));
      return;
    }
    if (f.kind === 'config') {
      const v = configValue(run.config, f.path);
      cell.textContent = v === undefined ? '–' : fmtAny(v);
      return;
    }
    switch (f.name) {
      case 'status':
        return fill(cell, statusBadge(run.status));
      case 'name':
        return fill(
          cell,
          h('a', { href: hrefFor({ view: 'run', id: run.id }) }, run.name),
          run.notes
            ? h(
                'span',
                { class: 'notes', title: run.notes },
                run.notes.length > 80 ? `${run.notes.slice(0, 80)}…` : run.notes,
              )
            : null,
        );
      case 'tags':
        return fill(cell, tagChips(run.tags));
      case 'age':
        return fill(cell, ageOf(run));
      case 'created':
        cell.textContent = fmtDate(run.created_at);
        return;
      case 'step':
        cell.textContent = run.last_step === null ? '–' : String(run.last_step);
        return;
      case 'alerts':
        return this.paintAlerts(run, cell);
    }
  }

  private paintAlerts(run: Run, cell: HTMLElement): void {
    const mine = [...this.firing.values()].filter((a) => a.run === run.id);
    if (mine.length === 0) {
      fill(cell, h('span', { class: 'muted-text' }, 'none'));
      return;
    }
    const worst = mine.reduce((w, a) => (SEVERITY_RANK[a.severity] > SEVERITY_RANK[w.severity] ? a : w));
    fill(
      cell,
      h(
        'a',
        {
          href: hrefFor({ view: 'run', id: run.id }),
          class: 'alert-count',
          title: mine.map((a) => `${a.rule}: ${a.message}`).join('\n'),
        },
        severityBadge(worst.severity, `${mine.length} open`),
      ),
    );
  }

  private repaintColumn(run: RunRow, test: (f: Field) => boolean): void {
    const row = this.rowEls.get(run.id);
    if (!row) return;
    this.view.columns.forEach((f, i) => {
      if (test(f)) this.paintCell(run, f, row.cells[i]!);
    });
  }

  private refreshAges(): void {
    for (const id of this.rowEls.keys())
      this.repaintColumn(this.byId.get(id)!, (f) => f.kind === 'run' && f.name === 'age');
  }

  /** Draws the rows of `this.runs` near the view (all of them: the columns changed). */
  private render(rebuild: boolean): void {
    if (rebuild) this.body.reset();
    this.refreshTags();
    this.applyFilters();
    this.updateSelection();
    this.table.dataset.rows = String(this.runs.length);
    this.plot.update(this.filteredRuns(), this.view.columns);
    // Two frames: the first runs before the rows are laid out and painted, the second after.
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('runs-table-drawn')));
  }

  private upsertRun(run: Run): void {
    const had = this.byId.get(run.id);
    if (!had) return;
    Object.assign(had, run);
    const row = this.rowEls.get(run.id);
    if (row) this.paint(had, row);
  }

  private async remove(run: Run): Promise<void> {
    if (
      !confirm(
        `Delete run "${run.name}" and everything it recorded (points, samples, latent codes, alerts)? This cannot be undone.`,
      )
    )
      return;
    try {
      await api.deleteRun(run.id);
      this.drop(run.id);
    } catch (err) {
      fill(this.state, notice('error', `Could not delete ${run.name}: ${(err as Error).message}`));
    }
  }

  private drop(id: string): void {
    if (!this.byId.has(id)) return;
    this.byId.delete(id);
    this.runs = this.runs.filter((r) => r.id !== id);
    this.selected.delete(id);
    this.updateSelection();
    this.refreshTags();
    this.applyFilters();
  }

  // --- data ------------------------------------------------------------------------------------------------
  /** Loads every run the filter selects, page by page, with the metric columns shown; then draws them. */
  private async loadAll(): Promise<void> {
    this.loading?.abort();
    const ctrl = (this.loading = new AbortController());
    const columns = this.view.columns.filter((f) => f.kind === 'metric');
    const rebuild = this.table.dataset.columns !== columnsText(this.view.columns);
    try {
      const [runs, alerts] = await Promise.all([
        this.fetchAll(columns, ctrl.signal),
        api.alerts({ state: 'firing', limit: 10_000 }, ctrl.signal),
      ]);
      if (this.disposed || ctrl.signal.aborted) return;
      this.firing.clear();
      for (const a of alerts) this.firing.set(a.id, a);
      this.runs = runs;
      this.byId.clear();
      for (const r of runs) this.byId.set(r.id, r);
      this.table.dataset.columns = columnsText(this.view.columns);
      this.render(rebuild);
    } catch (err) {
      if ((err as Error).name === 'AbortError' || this.disposed) return;
      if (err instanceof ApiError && err.code === 'GW_ERR_RUN_QUERY' && err.body.param === 'q') {
        this.query.showError(
          String(err.message).replace(/^.*?: /, ''),
          Number(err.body.position),
          Number(err.body.length),
        );
        return;
      }
      fill(
        this.state,
        notice(
          'error',
          `Could not load the runs: ${(err as Error).message}`,
          ' ',
          h('button', { type: 'button', onclick: () => void this.loadAll() }, 'Retry'),
        ),
      );
    }
  }

  private async fetchAll(columns: Field[], signal: AbortSignal): Promise<RunRow[]> {
    const out: RunRow[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.runTable(
        {
          q: this.view.q || undefined,
          sort: this.view.sort.length ? sortText(this.view.sort) : undefined,
          columns: columns.length ? columnsText(columns) : undefined,
          limit: PAGE,
          cursor,
        },
        signal,
      );
      out.push(...page.runs);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return out;
  }

  private reloadSoon(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.loadAll(), RELOAD_DELAY_MS);
  }

  private onFrame(frame: LiveServerFrame): void {
    switch (frame.type) {
      case 'run': {
        this.upsertRun(frame.run);
        // A new run, or a change the filter or the sort may see: ask the server again (once for a burst).
        if (!this.byId.has(frame.run.id) || this.view.q || this.view.sort.length) this.reloadSoon();
        this.applyFilters();
        break;
      }
      case 'run_deleted':
        this.drop(frame.run);
        break;
      case 'alert': {
        if (frame.alert.state === 'firing') this.firing.set(frame.alert.id, frame.alert);
        else this.firing.delete(frame.alert.id);
        const run = this.byId.get(frame.run);
        if (run) this.repaintColumn(run, (f) => f.kind === 'run' && f.name === 'alerts');
        break;
      }
      case 'points':
        this.onPoints(frame);
        break;
      default:
        break;
    }
  }

  /** Live points: the last step and the metric columns, without refetching. */
  private onPoints(frame: Extract<LiveServerFrame, { type: 'points' }>): void {
    const run = this.byId.get(frame.run);
    if (!run) return;
    let last = run.last_step ?? -1;
    for (const p of frame.points) {
      last = Math.max(last, p.step);
      for (const f of this.view.columns) {
        if (f.kind !== 'metric' || p.values[f.metric] === undefined) continue;
        const key = fieldKey(f);
        run.columns[key] = advance(run.columns[key] ?? null, f, p.step, p.values[f.metric]!);
      }
    }
    run.last_step = last;
    this.repaintColumn(run, (f) => f.kind === 'metric' || (f.kind === 'run' && f.name === 'step'));
    this.plot.liveUpdate();
  }
}

/** A metric column after one more point: the rules of db/summaries.ts, in the browser. */
function advance(
  cur: RunColumnValue | null,
  f: Extract<Field, { kind: 'metric' }>,
  step: number,
  value: WireValue,
): RunColumnValue | null {
  const agg = f.agg === 'best' ? (metricDirection(f.metric) === 'higher' ? 'max' : 'min') : f.agg;
  if (agg === 'last') return !cur || step >= cur.step ? { value, step } : cur;
  const v = decodeValue(value);
  if (!Number.isFinite(v)) return cur;
  if (!cur) return { value, step };
  const c = decodeValue(cur.value);
  const better = agg === 'min' ? v < c || (v === c && step < cur.step) : v > c || (v === c && step < cur.step);
  return better ? { value, step } : cur;
}

/** Sorting a column first: numbers and times from the highest (newest), text from A. */
function defaultDesc(f: Field): boolean {
  if (f.kind === 'metric') return f.agg === 'best' ? metricDirection(f.metric) === 'higher' : false;
  if (f.kind === 'run') return f.name === 'step' || f.name === 'alerts' || f.name === 'created';
  return false;
}

function isNumeric(f: Field): boolean {
  return f.kind === 'metric' || (f.kind === 'run' && (f.name === 'step' || f.name === 'alerts'));
}

function configValue(config: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = config;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** The run's age; its date as a tooltip, written when first pointed at (formatting dates costs, per row). */
function ageOf(run: Run): HTMLElement {
  const span = h('span', null, fmtAge(run.created_at));
  span.addEventListener('pointerenter', () => (span.title ||= fmtDate(run.created_at)));
  return span;
}

/** A drag handle on a header's right edge; the width is kept per column in this browser. */
function resizeHandle(th: HTMLTableCellElement, key: string, label: string): HTMLElement {
  const handle = h('span', { class: 'col-resize', 'aria-hidden': 'true', title: `Drag to resize ${label}` });
  handle.addEventListener('pointerdown', (down) => {
    down.preventDefault();
    const startX = down.clientX;
    const startW = th.getBoundingClientRect().width;
    handle.setPointerCapture(down.pointerId);
    const move = (e: PointerEvent): void => {
      const w = Math.max(40, startW + e.clientX - startX);
      th.style.width = th.style.minWidth = `${w}px`;
    };
    const up = (): void => {
      handle.removeEventListener('pointermove', move);
      saveWidth(key, th.getBoundingClientRect().width);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up, { once: true });
  });
  return handle;
}
