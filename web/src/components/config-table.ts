// Hyperparameters: one run's config as a sorted table, and several runs' side by side with "differences only".
import type { Run } from '../../../protocol/index.js';
import { h, notice, uid } from '../dom.js';
import { fmtAny } from '../format.js';

/** Nested objects become dotted keys (`optim.lr_d`); arrays and scalars stay values. Sorted by key. */
export function flattenConfig(config: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(config)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      out.push(...flattenConfig(v as Record<string, unknown>, key));
    else out.push([key, v]);
  }
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

/** The GPUs of a run's system document: names, repeats counted (`2 × NVIDIA A100`); null when not recorded. */
function gpuList(gpus: readonly string[] | undefined): string | null {
  if (gpus === undefined) return null;
  if (gpus.length === 0) return 'none found (nvidia-smi)';
  const counts = new Map<string, number>();
  for (const g of gpus) counts.set(g, (counts.get(g) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `${n} × ${name}` : name)).join(', ');
}

function runFacts(run: Run): Array<[string, unknown]> {
  const system = run.system ?? null;
  return [
    ['(backend)', run.backend],
    ['(device)', run.device],
    ['(host)', run.host],
    ['(cpu)', system?.cpu ?? null],
    ['(cores)', system?.cores ?? null],
    ['(platform)', system?.platform ?? null],
    ['(gpus)', gpuList(system?.gpus)],
  ];
}

export function configTable(run: Run): HTMLElement {
  const rows = flattenConfig(run.config);
  const facts = runFacts(run).filter(([, v]) => v !== null);
  if (rows.length === 0 && facts.length === 0) return notice('empty', 'This run has no configuration recorded.');
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'data config-table' },
      h('caption', { class: 'visually-hidden' }, 'Configuration and hyperparameters'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'))),
      h(
        'tbody',
        null,
        [...facts, ...rows].map(([k, v]) =>
          h('tr', null, h('th', { scope: 'row' }, h('code', null, k)), h('td', null, fmtAny(v))),
        ),
      ),
    ),
  );
}

/** Several runs' hyperparameters in columns; `differences only` (on by default) hides rows where all runs agree. */
export function compareConfigTable(runs: readonly Run[], colors: readonly string[]): HTMLElement {
  const columns = runs.map(
    (r) =>
      new Map(
        [...runFacts(r).filter(([, v]) => v !== null), ...flattenConfig(r.config)].map(([k, v]) => [k, fmtAny(v)]),
      ),
  );
  const keys = [...new Set(columns.flatMap((c) => [...c.keys()]))].sort((a, b) => a.localeCompare(b));
  const differs = (k: string): boolean => new Set(columns.map((c) => c.get(k) ?? '–')).size > 1;
  const diffCount = keys.filter(differs).length;
  const id = uid('diff-only');
  const toggle = h('input', { type: 'checkbox', id, checked: true });
  const count = h('span', { class: 'muted-text' }, `${diffCount} of ${keys.length} keys differ`);
  const tbody = h('tbody');
  const render = (): void => {
    const shown = toggle.checked ? keys.filter(differs) : keys;
    tbody.replaceChildren(
      ...(shown.length
        ? shown.map((k) =>
            h(
              'tr',
              { class: differs(k) ? 'differs' : '', 'data-key': k },
              h('th', { scope: 'row' }, h('code', null, k)),
              columns.map((c) => h('td', null, c.get(k) ?? '–')),
            ),
          )
        : [
            h(
              'tr',
              null,
              h(
                'td',
                { colspan: runs.length + 1 },
                toggle.checked ? 'All runs have the same hyperparameters.' : 'No configuration recorded.',
              ),
            ),
          ]),
    );
  };
  toggle.addEventListener('change', render);
  render();
  return h(
    'div',
    { class: 'compare-config' },
    h('p', { class: 'inline-controls' }, h('label', { for: id }, toggle, ' Differences only'), ' ', count),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data config-table' },
        h('caption', { class: 'visually-hidden' }, 'Hyperparameters of the compared runs'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Key'),
            runs.map((r, i) =>
              h(
                'th',
                { scope: 'col' },
                h('span', { class: 'swatch', style: `background:${colors[i]}`, 'aria-hidden': 'true' }),
                ' ',
                r.name,
              ),
            ),
          ),
        ),
        tbody,
      ),
    ),
  );
}
