// #/ — every run: status, name, tags, age, last step, key metrics and open alerts, updated live; filters; selection
// for the compare view; rename / tag / note / delete.
import type { Alert, Run, RunStatus } from '../../../protocol/index.js';
import { METRIC } from '../../../protocol/metric-names.js';
import { decodeValue, type WireValue } from '../../../protocol/wire.js';
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

export function mountRunsList(root: HTMLElement): () => void {
  const rows = new Map<string, Row>();
  const values = new Map<string, Map<string, WireValue>>();
  const firing = new Map<number, Alert>();
  const selected = new Set<string>();
  let disposed = false;

  // --- filters and selection ------------------------------------------------------------------------------
  const ids = { name: uid('f-name'), tag: uid('f-tag'), status: uid('f-status') };
  const nameFilter = h('input', { id: ids.name, type: 'search', placeholder: 'part of a name', autocomplete: 'off' });
  const tagFilter = h('select', { id: ids.tag }, h('option', { value: '' }, 'any tag'));
  const statusFilter = h(
    'select',
    { id: ids.status },
    h('option', { value: '' }, 'any status'),
    STATUSES.map((s) => h('option', { value: s }, s)),
  );
  const countEl = h('p', { class: 'muted-text', role: 'status', 'aria-live': 'polite' });
  const compareBtn = h('button', { type: 'button', class: 'primary', disabled: true }, 'Compare selected');
  const clearBtn = h('button', { type: 'button', disabled: true }, 'Clear selection');
  compareBtn.addEventListener('click', () => navigate({ view: 'compare', runs: [...selected] }));
  clearBtn.addEventListener('click', () => {
    selected.clear();
    for (const r of rows.values()) r.check.checked = false;
    updateSelection();
  });
  for (const el of [nameFilter, tagFilter, statusFilter]) el.addEventListener('input', applyFilters);

  const tbody = h('tbody');
  const table = h(
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
        ['Status', 'Name', 'Tags', 'Age', 'Last step', ...KEY_METRICS, 'Alerts', 'Actions'].map((c) =>
          h(
            'th',
            {
              scope: 'col',
              class: KEY_METRICS.includes(c as (typeof KEY_METRICS)[number]) || c === 'Last step' ? 'num' : '',
            },
            c,
          ),
        ),
      ),
    ),
    tbody,
  );
  const state = h('div', { class: 'list-state' }, notice('loading', 'Loading runs…'));
  const dialog = editDialog((run) => {
    upsert(run, false);
    refreshTags();
    applyFilters();
  });

  fill(
    root,
    h(
      'section',
      { class: 'runs-view', 'aria-labelledby': 'runs-title' },
      h('div', { class: 'view-head' }, h('h2', { id: 'runs-title', tabindex: -1 }, 'Runs'), countEl),
      h(
        'form',
        { class: 'filters', role: 'search', 'aria-label': 'Filter runs', onsubmit: (e: Event) => e.preventDefault() },
        h('span', { class: 'field' }, h('label', { for: ids.name }, 'Name'), nameFilter),
        h('span', { class: 'field' }, h('label', { for: ids.tag }, 'Tag'), tagFilter),
        h('span', { class: 'field' }, h('label', { for: ids.status }, 'Status'), statusFilter),
        h('span', { class: 'spacer' }),
        clearBtn,
        compareBtn,
      ),
      state,
      h('div', { class: 'table-scroll' }, table),
      dialog.el,
    ),
  );
  table.hidden = true;

  // --- rows -----------------------------------------------------------------------------------------------
  function makeRow(run: Run): Row {
    const check = h('input', { type: 'checkbox', 'aria-label': `Select ${run.name} for comparison` });
    check.addEventListener('change', () => {
      if (check.checked) selected.add(row.run.id);
      else selected.delete(row.run.id);
      updateSelection();
    });
    const cells = {
      status: h('td'),
      name: h('td', { class: 'run-name' }),
      tags: h('td'),
      age: h('td'),
      step: h('td', { class: 'num' }),
      metrics: KEY_METRICS.map(() => h('td', { class: 'num' })),
      alerts: h('td'),
    };
    const edit = h('button', { type: 'button', class: 'small' }, 'Edit');
    const del = h('button', { type: 'button', class: 'small danger' }, 'Delete');
    edit.addEventListener('click', () => dialog.open(row.run, edit));
    del.addEventListener('click', () => void remove(row.run));
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

  function paint(row: Row): void {
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
    fill(row.cells.age, h('span', { title: fmtDate(r.created_at) }, fmtAge(r.created_at)));
    row.cells.step.textContent = r.last_step === null ? '–' : String(r.last_step);
    row.check.setAttribute('aria-label', `Select ${r.name} for comparison`);
    paintMetrics(row);
    paintAlerts(row);
  }

  function paintMetrics(row: Row): void {
    const v = values.get(row.run.id);
    KEY_METRICS.forEach((m, i) => {
      const cell = row.cells.metrics[i]!;
      const x = v?.get(m);
      cell.textContent = x === undefined ? '–' : fmtValue(x);
      cell.classList.toggle('nonfinite', x !== undefined && !Number.isFinite(decodeValue(x)));
    });
  }

  function paintAlerts(row: Row): void {
    const mine = [...firing.values()].filter((a) => a.run === row.run.id);
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

  function upsert(run: Run, atTop: boolean): Row {
    let row = rows.get(run.id);
    if (!row) {
      row = makeRow(run);
      rows.set(run.id, row);
      if (atTop) tbody.prepend(row.tr);
      else tbody.append(row.tr);
    }
    row.run = run;
    paint(row);
    return row;
  }

  function refreshTags(): void {
    const tags = new Set<string>();
    for (const r of rows.values()) for (const t of r.run.tags) tags.add(t);
    const chosen = tagFilter.value;
    fill(
      tagFilter,
      h('option', { value: '' }, 'any tag'),
      [...tags].sort().map((t) => h('option', { value: t }, t)),
    );
    tagFilter.value = tags.has(chosen) ? chosen : '';
  }

  function applyFilters(): void {
    const name = nameFilter.value.trim().toLowerCase();
    const tag = tagFilter.value;
    const status = statusFilter.value;
    let shown = 0;
    for (const row of rows.values()) {
      const ok =
        (!name || row.run.name.toLowerCase().includes(name)) &&
        (!tag || row.run.tags.includes(tag)) &&
        (!status || row.run.status === status);
      row.tr.hidden = !ok;
      if (ok) shown++;
    }
    countEl.textContent =
      rows.size === 0
        ? ''
        : shown === rows.size
          ? `${rows.size} run${rows.size === 1 ? '' : 's'}`
          : `Showing ${shown} of ${rows.size} runs`;
    table.hidden = rows.size === 0;
    if (rows.size === 0)
      fill(
        state,
        notice(
          'empty',
          'No runs yet. Start one with ',
          h('code', null, 'npm run demo'),
          ', or create one over the API (POST /api/v1/runs).',
        ),
      );
    else if (shown === 0) fill(state, notice('empty', 'No run matches these filters.'));
    else state.replaceChildren();
  }

  function updateSelection(): void {
    for (const id of [...selected]) if (!rows.has(id)) selected.delete(id);
    const n = selected.size;
    compareBtn.textContent = `Compare selected (${n})`;
    compareBtn.disabled = n < 2 || n > MAX_COMPARE;
    compareBtn.title = n > MAX_COMPARE ? `At most ${MAX_COMPARE} runs` : n < 2 ? 'Select 2 to 10 runs' : '';
    clearBtn.disabled = n === 0;
  }

  async function remove(run: Run): Promise<void> {
    if (
      !confirm(
        `Delete run "${run.name}" and everything it recorded (points, samples, latent codes, alerts)? This cannot be undone.`,
      )
    )
      return;
    try {
      await api.deleteRun(run.id);
      drop(run.id);
    } catch (err) {
      fill(state, notice('error', `Could not delete ${run.name}: ${(err as Error).message}`));
    }
  }

  function drop(id: string): void {
    const row = rows.get(id);
    if (!row) return;
    row.tr.remove();
    rows.delete(id);
    selected.delete(id);
    updateSelection();
    refreshTags();
    applyFilters();
  }

  // --- data -----------------------------------------------------------------------------------------------
  const metricQueue: string[] = [];
  let metricWorkers = 0;
  function queueMetrics(id: string): void {
    metricQueue.push(id);
    while (metricWorkers < METRIC_FETCH_CONCURRENCY && metricQueue.length) {
      metricWorkers++;
      void (async () => {
        while (metricQueue.length && !disposed) {
          const run = metricQueue.shift()!;
          try {
            const summaries = await api.metrics(run);
            const v = values.get(run) ?? new Map<string, WireValue>();
            for (const s of summaries)
              if ((KEY_METRICS as readonly string[]).includes(s.name)) v.set(s.name, s.last_value);
            values.set(run, v);
            const row = rows.get(run);
            if (row) paintMetrics(row);
          } catch {
            /* the run may be gone; its row says '–' */
          }
        }
        metricWorkers--;
      })();
    }
  }

  async function loadAll(): Promise<void> {
    try {
      const [runs, alerts] = await Promise.all([api.runs(), api.alerts({ state: 'firing', limit: 10_000 })]);
      if (disposed) return;
      firing.clear();
      for (const a of alerts) firing.set(a.id, a);
      const seen = new Set(runs.map((r) => r.id));
      for (const id of [...rows.keys()]) if (!seen.has(id)) drop(id);
      for (const run of runs) upsert(run, false);
      // Keep the server's order (newest first).
      for (const run of runs) tbody.append(rows.get(run.id)!.tr);
      refreshTags();
      applyFilters();
      updateSelection();
      for (const run of runs) queueMetrics(run.id);
    } catch (err) {
      fill(
        state,
        notice(
          'error',
          `Could not load the runs: ${(err as Error).message}`,
          ' ',
          h('button', { type: 'button', onclick: () => void loadAll() }, 'Retry'),
        ),
      );
    }
  }

  const offFrame = live.onFrame((frame) => {
    switch (frame.type) {
      case 'run': {
        const isNew = !rows.has(frame.run.id);
        upsert(frame.run, true);
        if (isNew) {
          refreshTags();
          queueMetrics(frame.run.id);
        }
        applyFilters();
        break;
      }
      case 'run_deleted':
        drop(frame.run);
        break;
      case 'alert':
        if (frame.alert.state === 'firing') firing.set(frame.alert.id, frame.alert);
        else firing.delete(frame.alert.id);
        if (rows.has(frame.run)) paintAlerts(rows.get(frame.run)!);
        break;
      case 'points': {
        const row = rows.get(frame.run);
        if (!row) break;
        const v = values.get(frame.run) ?? new Map<string, WireValue>();
        values.set(frame.run, v);
        let last = row.run.last_step ?? -1;
        for (const p of frame.points) {
          last = Math.max(last, p.step);
          for (const m of KEY_METRICS) if (p.values[m] !== undefined) v.set(m, p.values[m]);
        }
        row.run = { ...row.run, last_step: last };
        row.cells.step.textContent = String(last);
        paintMetrics(row);
        break;
      }
      default:
        break;
    }
  });
  live.want('runs-list', ['*']);
  const offReopen = live.onReopen(() => void loadAll());
  const ages = setInterval(() => {
    for (const row of rows.values())
      fill(row.cells.age, h('span', { title: fmtDate(row.run.created_at) }, fmtAge(row.run.created_at)));
  }, 30_000);
  void live.ready(['*']).then(loadAll);

  return () => {
    disposed = true;
    offFrame();
    offReopen();
    clearInterval(ages);
    live.want('runs-list', []);
  };
}

/** The rename / tags / notes dialog. */
function editDialog(onSaved: (run: Run) => void): {
  el: HTMLDialogElement;
  open(run: Run, returnFocus: HTMLElement): void;
} {
  const ids = { name: uid('e-name'), tags: uid('e-tags'), notes: uid('e-notes') };
  const name = h('input', { id: ids.name, required: true, maxlength: 200, autocomplete: 'off' });
  const tags = h('input', { id: ids.tags, autocomplete: 'off', 'aria-describedby': `${ids.tags}-help` });
  const notes = h('textarea', { id: ids.notes, rows: 4, maxlength: 20000 });
  const error = h('p', { class: 'form-status', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const cancel = h('button', { type: 'button' }, 'Cancel');
  const title = h('h2', { id: uid('edit-title') }, 'Edit run');
  const el = h(
    'dialog',
    { class: 'edit-dialog', 'aria-labelledby': title.id },
    h(
      'form',
      { method: 'dialog' },
      title,
      h('p', { class: 'field-block' }, h('label', { for: ids.name }, 'Name'), name),
      h(
        'p',
        { class: 'field-block' },
        h('label', { for: ids.tags }, 'Tags'),
        tags,
        h('small', { id: `${ids.tags}-help` }, 'Comma-separated, e.g. facades, lr-sweep'),
      ),
      h('p', { class: 'field-block' }, h('label', { for: ids.notes }, 'Notes'), notes),
      error,
      h('p', { class: 'dialog-buttons' }, cancel, save),
    ),
  );
  let run: Run | null = null;
  let back: HTMLElement | null = null;
  cancel.addEventListener('click', () => el.close());
  el.addEventListener('close', () => back?.focus());
  el.querySelector('form')!.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!run) return;
    const tagList = [
      ...new Set(
        tags.value
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ),
    ];
    save.disabled = true;
    error.textContent = '';
    api
      .patchRun(run.id, { name: name.value.trim(), tags: tagList, notes: notes.value })
      .then((saved) => {
        onSaved(saved);
        el.close();
      })
      .catch((err: Error) => (error.textContent = `Not saved: ${err.message}`))
      .finally(() => (save.disabled = false));
  });
  return {
    el,
    open(r, returnFocus) {
      run = r;
      back = returnFocus;
      title.textContent = `Edit ${r.name}`;
      name.value = r.name;
      tags.value = r.tags.join(', ');
      notes.value = r.notes;
      error.textContent = '';
      el.showModal();
      name.focus();
    },
  };
}
