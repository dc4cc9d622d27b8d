// #/ — every run: status, name, tags, age, last step, key metrics and open alerts, updated live; filters; selection
// for the compare view; rename / tag / note / delete.
import type { Alert, LiveServerFrame, Run, RunStatus } from '../../../protocol/index.js';
import { METRIC } from '../../../protocol/metric-names.js';
import { MAX_NOTES_CHARS } from '../../../protocol/limits.js';
import { API_PREFIX, decodeValue, type WireValue } from '../../../protocol/wire.js';
import { api } from '../api.js';
import { SEVERITY_RANK, severityBadge, statusBadge, tagChips } from '../components/status-badge.js';
import { fill, h, notice, uid } from '../dom.js';
import { fmtAge, fmtDate, fmtValue } from '../format.js';
import { live } from '../live.js';
import { hrefFor, navigate } from '../router.js';

const KEY_METRICS = [METRIC.lossD, METRIC.lossGGan, METRIC.cycError, METRIC.latentMse] as const;
const STATUSES: RunStatus[] = ['running', 'paused', 'finished', 'failed', 'disconnected'];
const MAX_COMPARE = 10;
const METRIC_FETCH_CONCURRENCY = 4;

interface Row {
  run: Run;
  tr: HTMLTableRowElement;
  check: HTMLInputElement;
  cells: {
    status: HTMLElement;
    name: HTMLElement;
    tags: HTMLElement;
    age: HTMLElement;
    step: HTMLElement;
    metrics: HTMLElement[];
    alerts: HTMLElement;
  };
}

/** The runs table: one row per run, painted from the run, its key metrics and its open alerts. */
export class RunsListView {
  private readonly rows = new Map<string, Row>();
  private readonly values = new Map<string, Map<string, WireValue>>();
  private readonly firing = new Map<number, Alert>();
  private readonly selected = new Set<string>();
  private readonly metricQueue: string[] = [];
  private metricWorkers = 0;
  private disposed = false;
  private readonly ids = { name: uid('f-name'), tag: uid('f-tag'), status: uid('f-status') };
  private readonly nameFilter: HTMLInputElement;
  private readonly tagFilter: HTMLSelectElement;
  private readonly statusFilter: HTMLSelectElement;
  private readonly countEl: HTMLElement;
  private readonly compareBtn: HTMLButtonElement;
  private readonly clearBtn: HTMLButtonElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly table: HTMLTableElement;
  private readonly state: HTMLElement;
  private readonly dialog: RunEditDialog;
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly root: HTMLElement) {
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
      STATUSES.map((s) => h('option', { value: s }, s)),
    );
    this.countEl = h('p', { class: 'muted-text', role: 'status', 'aria-live': 'polite' });
    this.compareBtn = h(
      'button',
      { type: 'button', class: 'primary', disabled: true, 'data-shortcut': 'compare' },
      'Compare selected',
    );
    this.clearBtn = h('button', { type: 'button', disabled: true }, 'Clear selection');
    this.tbody = h('tbody');
    this.table = runsTable(this.tbody);
    this.state = h('div', { class: 'list-state' }, notice('loading', 'Loading runs…'));
    this.dialog = new RunEditDialog((run) => {
      this.upsert(run, false);
      this.refreshTags();
      this.applyFilters();
    });
  }

  /** Shows the table in the root, then loads the runs once the live subscription is in place. */
  mount(): void {
    this.wireControls();
    fill(this.root, this.shell());
    this.table.hidden = true;
    const offFrame = live.onFrame((frame) => this.onFrame(frame));
    live.want('runs-list', ['*']);
    const offReopen = live.onReopen(() => void this.loadAll());
    const ages = setInterval(() => this.refreshAges(), 30_000);
    this.unsubscribe = [offFrame, offReopen, () => clearInterval(ages)];
    void live.ready(['*']).then(() => this.loadAll());
  }

  dispose(): void {
    this.disposed = true;
    for (const off of this.unsubscribe) off();
    live.want('runs-list', []);
  }

  // --- filters and selection ------------------------------------------------------------------------------
  private wireControls(): void {
    this.compareBtn.addEventListener('click', () => navigate({ view: 'compare', runs: [...this.selected] }));
    this.clearBtn.addEventListener('click', () => {
      this.selected.clear();
      for (const r of this.rows.values()) r.check.checked = false;
      this.updateSelection();
    });
    for (const el of [this.nameFilter, this.tagFilter, this.statusFilter])
      el.addEventListener('input', () => this.applyFilters());
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
        h('span', { class: 'field' }, h('label', { for: ids.name }, 'Name'), this.nameFilter),
        h('span', { class: 'field' }, h('label', { for: ids.tag }, 'Tag'), this.tagFilter),
        h('span', { class: 'field' }, h('label', { for: ids.status }, 'Status'), this.statusFilter),
        h('span', { class: 'spacer' }),
        this.clearBtn,
        this.compareBtn,
      ),
      this.state,
      h('div', { class: 'table-scroll' }, this.table),
      this.dialog.el,
    );
  }

  private refreshTags(): void {
    const tags = new Set<string>();
    for (const r of this.rows.values()) for (const t of r.run.tags) tags.add(t);
    const chosen = this.tagFilter.value;
    fill(
      this.tagFilter,
      h('option', { value: '' }, 'any tag'),
      [...tags].sort().map((t) => h('option', { value: t }, t)),
    );
    this.tagFilter.value = tags.has(chosen) ? chosen : '';
  }

  /** Hides the rows the filters exclude, then says how many are shown (or why none is). */
  private applyFilters(): void {
    const name = this.nameFilter.value.trim().toLowerCase();
    const tag = this.tagFilter.value;
    const status = this.statusFilter.value;
    let shown = 0;
    for (const row of this.rows.values()) {
      const ok =
        (!name || row.run.name.toLowerCase().includes(name)) &&
        (!tag || row.run.tags.includes(tag)) &&
        (!status || row.run.status === status);
      row.tr.hidden = !ok;
      if (ok) shown++;
    }
    this.paintCount(shown);
  }

  private paintCount(shown: number): void {
    const total = this.rows.size;
    this.countEl.textContent =
      total === 0
        ? ''
        : shown === total
          ? `${total} run${total === 1 ? '' : 's'}`
          : `Showing ${shown} of ${total} runs`;
    this.table.hidden = total === 0;
    if (total === 0)
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
    for (const id of [...this.selected]) if (!this.rows.has(id)) this.selected.delete(id);
    const n = this.selected.size;
    this.compareBtn.textContent = `Compare selected (${n})`;
    this.compareBtn.disabled = n < 2 || n > MAX_COMPARE;
    this.compareBtn.title = n > MAX_COMPARE ? `At most ${MAX_COMPARE} runs` : n < 2 ? 'Select 2 to 10 runs' : '';
    this.clearBtn.disabled = n === 0;
  }

  // --- rows -----------------------------------------------------------------------------------------------
  private makeRow(run: Run): Row {
    const check = h('input', { type: 'checkbox', 'aria-label': `Select ${run.name} for comparison` });
    check.addEventListener('change', () => {
      if (check.checked) this.selected.add(row.run.id);
      else this.selected.delete(row.run.id);
      this.updateSelection();
    });
    // data-col names what a cell holds: the phone layout (styles.css) keeps status, name, step and alerts.
    const cells = {
      status: h('td', { 'data-col': 'status' }),
      name: h('td', { class: 'run-name', 'data-col': 'name' }),
      tags: h('td', { 'data-col': 'tags' }),
      age: h('td', { 'data-col': 'age' }),
      step: h('td', { class: 'num', 'data-col': 'step' }),
      metrics: KEY_METRICS.map((m) => h('td', { class: 'num', 'data-col': m })),
      alerts: h('td', { 'data-col': 'alerts' }),
    };
    const edit = h('button', { type: 'button', class: 'small' }, 'Edit');
    const del = h('button', { type: 'button', class: 'small danger' }, 'Delete');
    edit.addEventListener('click', () => this.dialog.open(row.run, edit));
    del.addEventListener('click', () => void this.remove(row.run));
    const tr = h(
      'tr',
      { 'data-run': run.id },
      h('td', null, check),
      cells.status,
      cells.name,
      cells.tags,
      cells.age,
      cells.step,
      cells.metrics,
      cells.alerts,
      h('td', { class: 'actions' }, edit, ' ', del),
    );
    const row: Row = { run, tr, check, cells };
    return row;
  }

  private paint(row: Row): void {
    const r = row.run;
    fill(row.cells.status, statusBadge(r.status));
    fill(
      row.cells.name,
      h('a', { href: hrefFor({ view: 'run', id: r.id }) }, r.name),
      r.notes
        ? h('span', { class: 'notes', title: r.notes }, r.notes.length > 80 ? `${r.notes.slice(0, 80)}…` : r.notes)
        : null,
    );
    fill(row.cells.tags, tagChips(r.tags));
    fill(row.cells.age, ageOf(r));
    row.cells.step.textContent = r.last_step === null ? '–' : String(r.last_step);
    row.check.setAttribute('aria-label', `Select ${r.name} for comparison`);
    this.paintMetrics(row);
    this.paintAlerts(row);
  }

  private paintMetrics(row: Row): void {
    const v = this.values.get(row.run.id);
    KEY_METRICS.forEach((m, i) => {
      const cell = row.cells.metrics[i]!;
      const x = v?.get(m);
      cell.textContent = x === undefined ? '–' : fmtValue(x);
      cell.classList.toggle('nonfinite', x !== undefined && !Number.isFinite(decodeValue(x)));
    });
  }

  private paintAlerts(row: Row): void {
    const mine = [...this.firing.values()].filter((a) => a.run === row.run.id);
    if (mine.length === 0) {
      fill(row.cells.alerts, h('span', { class: 'muted-text' }, 'none'));
      return;
    }
    const worst = mine.reduce((w, a) => (SEVERITY_RANK[a.severity] > SEVERITY_RANK[w.severity] ? a : w));
    fill(
      row.cells.alerts,
      h(
        'a',
        {
          href: hrefFor({ view: 'run', id: row.run.id }),
          class: 'alert-count',
          title: mine.map((a) => `${a.rule}: ${a.message}`).join('\n'),
        },
        severityBadge(worst.severity, `${mine.length} open`),
      ),
    );
  }

  private refreshAges(): void {
    for (const row of this.rows.values()) fill(row.cells.age, ageOf(row.run));
  }

  private upsert(run: Run, atTop: boolean): Row {
    let row = this.rows.get(run.id);
    if (!row) {
      row = this.makeRow(run);
      this.rows.set(run.id, row);
      if (atTop) this.tbody.prepend(row.tr);
      else this.tbody.append(row.tr);
    }
    row.run = run;
    this.paint(row);
    return row;
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
    const row = this.rows.get(id);
    if (!row) return;
    row.tr.remove();
    this.rows.delete(id);
    this.selected.delete(id);
    this.updateSelection();
    this.refreshTags();
    this.applyFilters();
  }

  // --- data -----------------------------------------------------------------------------------------------
  /** Fetches the key metrics of `id`, at most METRIC_FETCH_CONCURRENCY runs at a time. */
  private queueMetrics(id: string): void {
    this.metricQueue.push(id);
    while (this.metricWorkers < METRIC_FETCH_CONCURRENCY && this.metricQueue.length) {
      this.metricWorkers++;
      void this.metricWorker();
    }
  }

  private async metricWorker(): Promise<void> {
    while (this.metricQueue.length && !this.disposed) {
      const run = this.metricQueue.shift()!;
      try {
        const summaries = await api.metrics(run);
        const v = this.values.get(run) ?? new Map<string, WireValue>();
        for (const s of summaries) if ((KEY_METRICS as readonly string[]).includes(s.name)) v.set(s.name, s.last_value);
        this.values.set(run, v);
        const row = this.rows.get(run);
        if (row) this.paintMetrics(row);
      } catch {
        /* the run may be gone; its row says '–' */
      }
    }
    this.metricWorkers--;
  }

  private async loadAll(): Promise<void> {
    try {
      const [runs, alerts] = await Promise.all([api.runs(), api.alerts({ state: 'firing', limit: 10_000 })]);
      if (this.disposed) return;
      this.firing.clear();
      for (const a of alerts) this.firing.set(a.id, a);
      const seen = new Set(runs.map((r) => r.id));
      for (const id of [...this.rows.keys()]) if (!seen.has(id)) this.drop(id);
      for (const run of runs) this.upsert(run, false);
      // Keep the server's order (newest first).
      for (const run of runs) this.tbody.append(this.rows.get(run.id)!.tr);
      this.refreshTags();
      this.applyFilters();
      this.updateSelection();
      for (const run of runs) this.queueMetrics(run.id);
    } catch (err) {
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

  private onFrame(frame: LiveServerFrame): void {
    switch (frame.type) {
      case 'run': {
        const isNew = !this.rows.has(frame.run.id);
        this.upsert(frame.run, true);
        if (isNew) {
          this.refreshTags();
          this.queueMetrics(frame.run.id);
        }
        this.applyFilters();
        break;
      }
      case 'run_deleted':
        this.drop(frame.run);
        break;
      case 'alert':
        if (frame.alert.state === 'firing') this.firing.set(frame.alert.id, frame.alert);
        else this.firing.delete(frame.alert.id);
        if (this.rows.has(frame.run)) this.paintAlerts(this.rows.get(frame.run)!);
        break;
      case 'points':
        this.onPoints(frame);
        break;
      default:
        break;
    }
  }

  /** Live points: the last step and the key metrics, without refetching. */
  private onPoints(frame: Extract<LiveServerFrame, { type: 'points' }>): void {
    const row = this.rows.get(frame.run);
    if (!row) return;
    const v = this.values.get(frame.run) ?? new Map<string, WireValue>();
    this.values.set(frame.run, v);
    let last = row.run.last_step ?? -1;
    for (const p of frame.points) {
      last = Math.max(last, p.step);
      for (const m of KEY_METRICS) if (p.values[m] !== undefined) v.set(m, p.values[m]);
    }
    row.run = { ...row.run, last_step: last };
    row.cells.step.textContent = String(last);
    this.paintMetrics(row);
  }
}

function ageOf(run: Run): HTMLElement {
  return h('span', { title: fmtDate(run.created_at) }, fmtAge(run.created_at));
}

function runsTable(tbody: HTMLTableSectionElement): HTMLTableElement {
  const columns = ['Status', 'Name', 'Tags', 'Age', 'Last step', ...KEY_METRICS, 'Alerts', 'Actions'];
  const numeric = (c: string) => KEY_METRICS.includes(c as (typeof KEY_METRICS)[number]) || c === 'Last step';
  return h(
    'table',
    { class: 'data runs-table' },
    h('caption', { class: 'visually-hidden' }, 'Runs, newest first'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Select')),
        columns.map((c) => h('th', { scope: 'col', class: numeric(c) ? 'num' : '' }, c)),
      ),
    ),
    tbody,
  );
}

/** The rename / tags / notes dialog. */
class RunEditDialog {
  readonly el: HTMLDialogElement;
  private readonly ids = { name: uid('e-name'), tags: uid('e-tags'), notes: uid('e-notes') };
  private readonly name: HTMLInputElement;
  private readonly tags: HTMLInputElement;
  private readonly notes: HTMLTextAreaElement;
  private readonly error: HTMLElement;
  private readonly save: HTMLButtonElement;
  private readonly title: HTMLElement;
  private run: Run | null = null;
  private back: HTMLElement | null = null;

  constructor(private readonly onSaved: (run: Run) => void) {
    const { ids } = this;
    this.name = h('input', { id: ids.name, required: true, maxlength: 200, autocomplete: 'off' });
    this.tags = h('input', { id: ids.tags, autocomplete: 'off', 'aria-describedby': `${ids.tags}-help` });
    this.notes = h('textarea', { id: ids.notes, rows: 4, maxlength: MAX_NOTES_CHARS });
    this.error = h('p', { class: 'form-status', role: 'alert' });
    this.save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const cancel = h('button', { type: 'button' }, 'Cancel');
    this.title = h('h2', { id: uid('edit-title') }, 'Edit run');
    this.el = h(
      'dialog',
      { class: 'edit-dialog', 'aria-labelledby': this.title.id },
      h(
        'form',
        { method: 'dialog' },
        this.title,
        h('p', { class: 'field-block' }, h('label', { for: ids.name }, 'Name'), this.name),
        h(
          'p',
          { class: 'field-block' },
          h('label', { for: ids.tags }, 'Tags'),
          this.tags,
          h('small', { id: `${ids.tags}-help` }, 'Comma-separated, e.g. facades, lr-sweep'),
        ),
        h('p', { class: 'field-block' }, h('label', { for: ids.notes }, 'Notes'), this.notes),
        this.error,
        h('p', { class: 'dialog-buttons' }, cancel, this.save),
      ),
    );
    cancel.addEventListener('click', () => this.el.close());
    this.el.addEventListener('close', () => this.back?.focus());
    this.el.querySelector('form')!.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
  }

  open(run: Run, returnFocus: HTMLElement): void {
    this.run = run;
    this.back = returnFocus;
    this.title.textContent = `Edit ${run.name}`;
    this.name.value = run.name;
    this.tags.value = run.tags.join(', ');
    this.notes.value = run.notes;
    this.error.textContent = '';
    this.el.showModal();
    this.name.focus();
  }

  private submit(): void {
    if (!this.run) return;
    const tagList = [
      ...new Set(
        this.tags.value
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ),
    ];
    this.save.disabled = true;
    this.error.textContent = '';
    api
      .patchRun(this.run.id, { name: this.name.value.trim(), tags: tagList, notes: this.notes.value })
      .then((saved) => {
        this.onSaved(saved);
        this.el.close();
      })
      .catch((err: Error) => (this.error.textContent = `Not saved: ${err.message}`))
      .finally(() => (this.save.disabled = false));
  }
}
